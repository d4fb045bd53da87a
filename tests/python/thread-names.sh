# thread-names.sh — sourced (after common.sh) by python-threads.sh and
# python-thread-start.sh: the same checks of Python thread names, with
# `memattach run` and `memattach --pid`, under every CPython present.

# tn_check CAPTURE: every thread of the script ($py_tmp/out) carries
# exactly its name and buffer in the capture and the report.
tn_check() {
	"$PYEVENTS" --threads "$1" >"$py_tmp/threads" || return 1
	"$PYEVENTS" "$1" 1000 >"$py_tmp/events" || return 1
	"$CHECKPY" "$py_here/check_threads.py" "$py_tmp/out" "$py_tmp/threads" \
		"$py_tmp/events" "$MEMATTACH" "$1"
}

# tn_attach PY WAIT SCRIPT ARGS...: runs SCRIPT, which prints "ready",
# waits for the file $py_tmp/start, allocates and goes on at $py_tmp/go;
# memattach --pid records it until the function WAIT (given the capture)
# returns, then is stopped with SIGINT; then tn_check.
tn_attach() {
	local py=$1 wait_fn=$2 cap=$py_tmp/attach.cap rc prc i
	shift 2
	echo "=== memattach --pid: $py $(basename "$1")"
	rm -f "$py_tmp"/*    # what an earlier case left must not be read as this one's
	"$py" "$@" >"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	local pid=$!
	for i in $(seq 200); do
		grep -qs ready "$py_tmp/out" && break
		sleep 0.05
	done
	timeout 60 "$MEMATTACH" --pid $pid -o "$cap" >"$py_tmp/mout" 2>&1 &
	local mpid=$!
	for i in $(seq 400); do
		grep -qs "tracking pid" "$py_tmp/mout" && break
		kill -0 $mpid 2>/dev/null || break
		sleep 0.05
	done
	touch "$py_tmp/start"
	"$wait_fn" "$cap" $pid
	kill -INT $mpid
	wait $mpid
	rc=$?
	touch "$py_tmp/go"
	wait $pid
	prc=$?
	py_show memattach "$py_tmp/mout"
	py_show "target stderr" "$py_tmp/err"
	if [ $rc != 0 ] || [ $prc != 0 ]; then
		echo "FAIL: memattach --pid exited $rc, the target $prc"
		return 1
	fi
	tn_check "$cap"
}

# tn_each_python RUN ATTACH: both cases under every CPython 3.8-3.13;
# exits with the result (77: no CPython).
tn_each_python() {
	local fail=0 n=0 py
	for py in $(all_pythons); do
		n=$((n + 1))
		"$1" "$py" || fail=1
		"$2" "$py" || fail=1
	done
	if [ $n = 0 ]; then
		echo "SKIP: no CPython 3.8-3.13"
		exit 77
	fi
	exit $fail
}

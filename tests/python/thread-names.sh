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

# tn_run PY WAIT SCRIPT ARGS...: `memattach run` of SCRIPT, until the
# function WAIT (given the capture and memattach's pid) returns; then
# $py_tmp/go lets the script end, and tn_check.
tn_run() {
	local py=$1 wait_fn=$2 cap=$py_tmp/run.cap rc
	shift 2
	echo "=== memattach run -- $py $(basename "$1")"
	rm -f "$py_tmp"/*    # what an earlier case left must not be read as this one's
	timeout 60 "$MEMATTACH" run -q -o "$cap" -- "$py" "$@" \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	local mpid=$!
	"$wait_fn" "$cap" $mpid
	touch "$py_tmp/go"
	wait $mpid
	rc=$?
	py_show stderr "$py_tmp/err"
	if [ $rc != 0 ]; then
		echo "FAIL: memattach run -- $py exited $rc"
		return 1
	fi
	tn_check "$cap"
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

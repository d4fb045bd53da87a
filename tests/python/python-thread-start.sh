#!/bin/sh
# Python thread names caught as the thread starts (issue 17): 40 threads,
# each allocating one buffer of a known size and ending at once, started
# one after another (short_threads.py), under every pyenv CPython 3.8-3.13
# and /usr/bin/python3, with `memattach run` and `memattach --pid`: every
# thread carries exactly its Python name in the capture and the report,
# and `report stats --thread NAME` selects exactly its buffer.  None of
# them is alive when the periodic read of threading._active comes.
. "$(dirname "$0")/common.sh"

N=40

check_final() {
	"$PYEVENTS" --threads "$1" >"$py_tmp/threads" || return 1
	"$PYEVENTS" "$1" 1000 >"$py_tmp/events" || return 1
	"$CHECKPY" "$py_here/check_threads.py" "$py_tmp/out" "$py_tmp/threads" \
		"$py_tmp/events" "$MEMATTACH" "$1"
}

start_run() {
	local py=$1 cap=$py_tmp/run.cap rc
	echo "=== memattach run -- $py short_threads.py $N"
	rm -f "$py_tmp"/*
	timeout 60 "$MEMATTACH" run -q -o "$cap" -- "$py" "$py_here/short_threads.py" $N \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null
	rc=$?
	py_show stderr "$py_tmp/err"
	if [ $rc != 0 ]; then
		echo "FAIL: memattach run -- $py exited $rc"
		return 1
	fi
	check_final "$cap"
}

start_attach() {
	local py=$1 cap=$py_tmp/attach.cap rc prc i
	echo "=== memattach --pid: $py short_threads.py $N"
	rm -f "$py_tmp"/*
	"$py" "$py_here/short_threads.py" $N "$py_tmp/start" "$py_tmp/go" \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
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
	for i in $(seq 600); do
		grep -qs ALLOCATED "$py_tmp/out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
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
	check_final "$cap"
}

fail=0 n=0
pys=$(pyenv_pythons)
if [ -z "${MA_PYTHONS:-}" ] && [ -x /usr/bin/python3 ] &&
	/usr/bin/python3 -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 13))'; then
	pys="$pys /usr/bin/python3"
fi
for py in $pys; do
	n=$((n + 1))
	start_run "$py" || fail=1
	start_attach "$py" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13"
	exit 77
fi
exit $fail

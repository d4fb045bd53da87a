#!/bin/sh
# Python thread names caught as the thread starts (issue 17): 40 threads,
# each allocating one buffer of a known size and ending at once, started
# one after another (short_threads.py), under every pyenv CPython 3.8-3.13
# and /usr/bin/python3, with `memattach run` and `memattach --pid`: every
# thread carries exactly its Python name in the capture and the report,
# and `report stats --thread NAME` selects exactly its buffer.  None of
# them is alive when the periodic read of threading._active comes.
. "$(dirname "$0")/common.sh"

. "$py_here/thread-names.sh"

N=40

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
	tn_check "$cap"
}

# allocated CAPTURE PID: until the threads are all done (none is alive
# when the periodic read of threading._active comes).
allocated() {
	local i
	for i in $(seq 600); do
		grep -qs ALLOCATED "$py_tmp/out" && break
		kill -0 $2 2>/dev/null || break
		sleep 0.05
	done
}

start_attach() {
	tn_attach "$1" allocated "$py_here/short_threads.py" $N "$py_tmp/start" "$py_tmp/go"
}

tn_each_python start_run start_attach

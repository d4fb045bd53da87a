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

start_run() {
	tn_run "$1" true "$py_here/short_threads.py" $N
}

start_attach() {
	tn_attach "$1" allocated "$py_here/short_threads.py" $N "$py_tmp/start" "$py_tmp/go"
}

each_python start_run start_attach

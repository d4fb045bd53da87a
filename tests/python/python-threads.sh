#!/bin/sh
# Thread names from Python's threading module (threads.py), under every
# pyenv CPython 3.8-3.13 and /usr/bin/python3, with `memattach run` and
# `memattach --pid`: each named thread (and the main one) carries exactly
# its Python name in the capture and holds exactly its buffer, and the
# report's --thread NAME finds it.  The threads stay alive until the names
# are in the capture (read while it is written), 20 s at most.
. "$(dirname "$0")/common.sh"
. "$py_here/thread-names.sh"

# names_seen CAPTURE: the capture (so far) names every thread of the script.
names_seen() {
	grep -qs "^ALLOCATED" "$py_tmp/out" &&
		"$PYEVENTS" --threads "$1" >"$py_tmp/threads" 2>/dev/null &&
		"$CHECKPY" "$py_here/check_threads.py" "$py_tmp/out" "$py_tmp/threads"
}

wait_names() {
	local i
	for i in $(seq 200); do
		names_seen "$1" && return 0
		sleep 0.1
	done
	echo "(the names never all came; going on to show what the capture has)"
}

threads_run() {
	tn_run "$1" wait_names "$py_here/threads.py" "$py_tmp/go"
}

threads_attach() {
	tn_attach "$1" wait_names "$py_here/threads.py" "$py_tmp/go" "$py_tmp/start"
}

each_python threads_run threads_attach

#!/bin/sh
# Thread names from Python's threading module (threads.py), under every
# pyenv CPython 3.8-3.13 and /usr/bin/python3, with `memattach run` and
# `memattach --pid`: each named thread (and the main one) carries exactly
# its Python name in the capture and holds exactly its buffer, and the
# report's --thread NAME finds it.  The threads stay alive until the names
# are in the capture (read while it is written), 20 s at most.
. "$(dirname "$0")/common.sh"

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

check_final() {
	"$PYEVENTS" --threads "$1" >"$py_tmp/threads" || return 1
	"$PYEVENTS" "$1" 1000 >"$py_tmp/events" || return 1
	"$CHECKPY" "$py_here/check_threads.py" "$py_tmp/out" "$py_tmp/threads" \
		"$py_tmp/events" "$MEMATTACH" "$1"
}

threads_run() {
	local py=$1 cap=$py_tmp/run.cap rc
	echo "=== memattach run -- $py threads.py"
	rm -f "$py_tmp"/*    # what an earlier case left must not be read as this one's
	timeout 60 "$MEMATTACH" run -q -o "$cap" -- "$py" "$py_here/threads.py" "$py_tmp/go" \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	local mpid=$!
	wait_names "$cap"
	touch "$py_tmp/go"
	wait $mpid
	rc=$?
	py_show stderr "$py_tmp/err"
	if [ $rc != 0 ]; then
		echo "FAIL: memattach run -- $py exited $rc"
		return 1
	fi
	check_final "$cap"
}

threads_attach() {
	local py=$1 cap=$py_tmp/attach.cap rc prc i
	echo "=== memattach --pid: $py threads.py"
	rm -f "$py_tmp"/*
	"$py" "$py_here/threads.py" "$py_tmp/go" "$py_tmp/start" \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	local pid=$!
	for i in $(seq 100); do
		grep -qs ready "$py_tmp/out" && break
		sleep 0.05
	done
	timeout 60 "$MEMATTACH" --pid $pid -o "$cap" >"$py_tmp/mout" 2>&1 &
	local mpid=$!
	for i in $(seq 200); do
		grep -qs "tracking pid" "$py_tmp/mout" && break
		kill -0 $mpid 2>/dev/null || break
		sleep 0.05
	done
	touch "$py_tmp/start"
	wait_names "$cap"
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
	threads_run "$py" || fail=1
	threads_attach "$py" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13"
	exit 77
fi
exit $fail

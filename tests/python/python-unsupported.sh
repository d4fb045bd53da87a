#!/bin/sh
# A CPython older than 3.8 (pyenv 3.6 / 3.7 when present): the program runs
# as usual, native stacks only, one warning line on memattach's stderr, no
# Python frame.  With --pid the warning must not reach the target's own
# stderr (the agent never writes to the target's fds): memattach prints
# it, each of two captures of the same process says it, and the capture
# keeps it (report stats).
. "$(dirname "$0")/common.sh"
n=0 fail=0
WARN='^memattach: warning: Python 3\.[67]\.[0-9]* is not supported'

# attach_twice PY: a process blocked in stdin.readline(), two captures.
attach_twice() {
	local py=$1 k rc
	rm -f "$py_tmp/fifo" "$py_tmp/tout"   # tout: a wait must not meet the last run's lines
	mkfifo "$py_tmp/fifo" || return 1
	exec 3<>"$py_tmp/fifo"
	"$py" -c 'import sys
print("ready", flush=True)
sys.stdin.readline()
print("bye", flush=True)' <"$py_tmp/fifo" >"$py_tmp/tout" 2>"$py_tmp/terr" &
	local tpid=$!
	py_wait_line "$py_tmp/tout" '^ready' 20 || { echo "FAIL: the target did not start"; return 1; }
	for k in 1 2; do
		timeout 40 "$MEMATTACH" --pid "$tpid" --duration 0.2 -q -o "$py_tmp/p$k.cap" \
			>"$py_tmp/mout" 2>"$py_tmp/merr" </dev/null
		rc=$?
		py_show "memattach --pid (capture $k)" "$py_tmp/merr"
		[ $rc = 0 ] || { echo "FAIL: memattach --pid exited $rc"; return 1; }
		if [ "$(wc -l <"$py_tmp/merr")" != 1 ] || ! grep -q "$WARN" "$py_tmp/merr"; then
			echo "FAIL: capture $k: memattach's stderr is not the one warning line"
			return 1
		fi
		"$MEMATTACH" report stats --json "$py_tmp/p$k.cap" >"$py_tmp/stats" || return 1
		"$CHECKPY" -c 'import json, re, sys
w = json.load(open(sys.argv[1]))["warnings"]
sys.exit(not (len(w) == 1 and re.match(r"Python 3\.[67]\.\d+ is not supported", w[0])))' \
			"$py_tmp/stats" || { echo "FAIL: capture $k: report stats does not show the warning"; return 1; }
	done
	echo quit >&3
	py_wait_exit "$tpid" 20 || { echo "FAIL: the target did not finish (killed)"; return 1; }
	exec 3>&-
	py_show "target stderr" "$py_tmp/terr"
	[ "$py_rc" = 0 ] || { echo "FAIL: the target exited $py_rc"; return 1; }
	if [ -s "$py_tmp/terr" ]; then
		echo "FAIL: the agent wrote to the target's stderr"
		return 1
	fi
	grep -q '^bye' "$py_tmp/tout" || { echo "FAIL: the target did not read its line"; return 1; }
}
for d in /root/.pyenv/versions/3.6.* /root/.pyenv/versions/3.7.*; do
	py=$d/bin/python3
	[ -x "$py" ] || continue
	n=$((n + 1))
	echo "=== $py"
	timeout 40 "$MEMATTACH" run -q -o "$py_tmp/u.cap" -- "$py" "$py_here/alloc.py" basic \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null
	rc=$?
	py_show stderr "$py_tmp/err"
	[ $rc = 0 ] || { echo "FAIL: exited $rc"; fail=1; continue; }
	lines=$(wc -l <"$py_tmp/err")
	if [ "$lines" != 1 ] || ! grep -q "$WARN" "$py_tmp/err"; then
		echo "FAIL: expected one warning line naming the version, got $lines lines"
		fail=1
	fi
	"$PYEVENTS" "$py_tmp/u.cap" 0 >"$py_tmp/events" || fail=1
	if [ -s "$py_tmp/events" ]; then
		echo "FAIL: Python frames in a capture of an unsupported version"
		fail=1
	fi
	grep -q "^TRUTH" "$py_tmp/out" || { echo "FAIL: the script did not finish"; fail=1; }
	echo "=== memattach --pid: $py"
	attach_twice "$py" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.6 or 3.7 under /root/.pyenv/versions"
	exit 77
fi
exit $fail

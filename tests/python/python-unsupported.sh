#!/bin/sh
# A CPython older than 3.8 (pyenv 3.6 / 3.7 when present): the program runs
# as usual, native stacks only, one warning line on stderr, no Python frame.
. "$(dirname "$0")/common.sh"
n=0 fail=0
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
	if [ "$lines" != 1 ] || ! grep -q "^memattach: Python 3\.[67]\.[0-9]* is not supported" "$py_tmp/err"; then
		echo "FAIL: expected one warning line naming the version, got $lines lines"
		fail=1
	fi
	"$PYEVENTS" "$py_tmp/u.cap" 0 >"$py_tmp/events" || fail=1
	if [ -s "$py_tmp/events" ]; then
		echo "FAIL: Python frames in a capture of an unsupported version"
		fail=1
	fi
	grep -q "^TRUTH" "$py_tmp/out" || { echo "FAIL: the script did not finish"; fail=1; }
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.6 or 3.7 under /root/.pyenv/versions"
	exit 77
fi
exit $fail

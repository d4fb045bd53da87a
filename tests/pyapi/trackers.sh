#!/bin/sh
# Several memattach.Tracker at once (five threads' threads="current"
# trackers, two whole-process trackers with overlapping windows, nesting
# refused) and follow_fork=True (the parent and three forked children,
# one capture each): exact bytes per capture; every CPython present.
. "$(dirname "$0")/common.sh"

fail=0 n=0
for py in $(pa_pythons); do
	n=$((n + 1))
	d=$pa_tmp/$n
	mkdir -p "$d/t" "$d/f"
	echo "=== $py"
	timeout 180 "$py" "$pa_here/trackers_checks.py" "$d/t" || fail=1
	timeout 120 "$py" "$pa_here/follow_checks.py" "$d/f" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13"
	exit 77
fi
exit $fail

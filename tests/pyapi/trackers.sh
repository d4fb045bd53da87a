#!/bin/sh
# Several memattach.Tracker at once (five threads' threads="current"
# trackers, two whole-process trackers with overlapping windows, nesting
# refused) and follow_fork=True (the parent and three forked children,
# one capture each): exact bytes per capture; every CPython present.
. "$(dirname "$0")/common.sh"

trackers() {
	local py=$1 d=$pa_tmp/$2 fail=0
	mkdir -p "$d/t" "$d/f"
	echo "=== $py"
	timeout 180 "$py" "$pa_here/trackers_checks.py" "$d/t" || fail=1
	timeout 120 "$py" "$pa_here/follow_checks.py" "$d/f" || fail=1
	return $fail
}
each_python trackers

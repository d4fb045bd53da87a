#!/bin/sh
# The reader API (FileReader, top_locations, stats_from: exact bytes,
# blocks and lines of known allocations) and MemoryMonitor (the dump at the
# known crossing, its content; the hand-written polling loop) on every
# CPython present: reader_checks.py, monitor_checks.py.
. "$(dirname "$0")/common.sh"
reader_monitor() {
	local py=$1 d=$pa_tmp/$2 fail=0
	mkdir -p "$d"
	echo "=== $py"
	timeout 120 "$py" "$pa_here/reader_checks.py" "$d" || fail=1
	timeout 120 "$py" "$pa_here/monitor_checks.py" "$d" || fail=1
	return $fail
}
each_python reader_monitor

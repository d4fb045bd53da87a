#!/bin/sh
# The reader API (FileReader, top_locations, stats_from: exact bytes,
# blocks and lines of known allocations) and MemoryMonitor (the dump at the
# known crossing, its content; the hand-written polling loop) on every
# CPython present: reader_checks.py, monitor_checks.py.
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pa_pythons); do
	n=$((n + 1))
	d=$pa_tmp/$n
	mkdir -p "$d"
	echo "=== $py"
	timeout 120 "$py" "$pa_here/reader_checks.py" "$d" || fail=1
	timeout 120 "$py" "$pa_here/monitor_checks.py" "$d" || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13"
	exit 77
fi
exit $fail

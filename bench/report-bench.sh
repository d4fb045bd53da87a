#!/bin/bash
# report-bench.sh BUILDDIR [EVENTS...] — the benchmark behind `make
# bench-report`.  For each event count (default 1M 10M 100M): capture
# bench/report_workload under `memattach run` and under heaptrack, print
# capture time, size and bytes/event, then the time and peak RSS of
# `memattach report stats|summary|flamegraph` next to heaptrack_print
# (default text report, and -F folded stacks for a flame graph).  Prints
# numbers; passes or fails nothing.  Every heaptrack step runs under
# `timeout` (HT_TIMEOUT seconds, default 900) and is reported as "timed out"
# when it hits it; heaptrack_interpret has been seen to grow to ~19 GB.
set -u
builddir=${1:?usage: report-bench.sh BUILDDIR [EVENTS...]}
shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000 100000000)
ht_timeout=${HT_TIMEOUT:-900}
workload=$builddir/bench/report_workload
memattach=$builddir/memattach
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
	echo "report-bench: /usr/bin/time is missing: apt-get install time" >&2
	exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-report-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
have_ht=1
command -v heaptrack >/dev/null && command -v heaptrack_print >/dev/null || have_ht=0

# measure CMD... — runs CMD with output to $tmp/out; sets secs, kb (peak RSS
# of the largest process waited for) and status (ok / timed out / exit N).
measure() {
	"$TIME" -f '%e %M' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	# with a non-zero exit, time writes "Command exited..." first
	secs=$(awk 'END { print $1 }' "$tmp/time") kb=$(awk 'END { print $2 }' "$tmp/time")
	case $rc in
	0) status=ok ;;
	124 | 137) status="timed out (${ht_timeout}s)" ;;
	*) status="exit $rc: $(grep -m1 -E 'bad_alloc|rror' "$tmp/err" | cut -c1-60)" ;;
	esac
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_event() { awk -v s="$1" -v e="$2" 'BEGIN { if (e > 0) printf "%.2f", s / e; else print "-" }'; }
row() { printf '  %-30s %9s %10s  %s\n' "$1" "$2" "$3" "$4"; }

echo "report benchmark: bench/report_workload (malloc/free, 9-13 frame stacks, ~0.05% leaks)"
echo "seconds = wall time; peak MB = peak RSS of the largest process (/usr/bin/time %M)"
for n in "${sizes[@]}"; do
	echo
	echo "== $n events"
	row step seconds "peak MB" "notes"

	# memattach: capture, then the three reports
	measure "$memattach" run -q -o "$tmp/cap" -- "$workload" "$n"
	if [ "$status" = ok ]; then
		size=$(stat -c %s "$tmp/cap")
		row "memattach run (capture)" "$secs" "$(mb "$kb")" \
			"capture $size B, $(per_event "$size" "$n") B/event"
		for fmt in stats summary flamegraph; do
			measure "$memattach" report "$fmt" "$tmp/cap" -o "$tmp/report.$fmt"
			row "memattach report $fmt" "$secs" "$(mb "$kb")" "$status"
		done
	else
		row "memattach run (capture)" "$secs" "$(mb "$kb")" "$status"
	fi
	rm -f "$tmp/cap" "$tmp"/report.*

	if [ "$have_ht" = 0 ]; then
		echo "  (heaptrack not installed: apt-get install heaptrack)"
		continue
	fi
	rm -f "$tmp"/ht.*
	measure timeout -s KILL "$ht_timeout" heaptrack -o "$tmp/ht" "$workload" "$n"
	f=$(ls "$tmp"/ht.* 2>/dev/null | head -n 1)
	if [ "$status" = ok ] && [ -n "$f" ]; then
		size=$(stat -c %s "$f")
		row "heaptrack (capture)" "$secs" "$(mb "$kb")" \
			"capture $size B, $(per_event "$size" "$n") B/event"
		measure timeout -s KILL "$ht_timeout" heaptrack_print "$f"
		row "heaptrack_print (text)" "$secs" "$(mb "$kb")" "$status"
		measure timeout -s KILL "$ht_timeout" heaptrack_print -f "$f" -F "$tmp/ht-folded"
		row "heaptrack_print -F (folded)" "$secs" "$(mb "$kb")" "$status"
	else
		row "heaptrack (capture)" "$secs" "$(mb "$kb")" "$status"
	fi
	rm -f "$tmp"/ht.* "$tmp/ht-folded"
done

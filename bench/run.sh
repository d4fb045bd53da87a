#!/bin/bash
# run.sh BUILDDIR [ALLOCS_PER_THREAD] [RUNS] — the benchmark behind `make
# bench`.  For 1 and 2 threads: wall time of bench/mabench untracked, under
# `memattach run` and under heaptrack (best of RUNS), slowdown ratios,
# capture bytes per event (events = allocations + frees, as mabench counts
# them), and the target's own peak RSS (VmHWM) under each.
set -u
builddir=${1:?usage: run.sh BUILDDIR [ALLOCS_PER_THREAD] [RUNS]}
per=${2:-300000}
runs=${3:-3}
bench=$builddir/bench/mabench
memattach=$builddir/memattach
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

have_heaptrack=1
command -v heaptrack >/dev/null || have_heaptrack=0

now_ns() { date +%s%N; }

# run_one LABEL CMD... — runs once; sets secs (wall), events, hwm_kb.
run_one() {
	local label=$1 t0 t1 out
	shift
	t0=$(now_ns)
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local rc=$?
	t1=$(now_ns)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
	out=$(grep '^mabench events' "$tmp/out" | tail -n 1)
	events=$(echo "$out" | awk '{ print $3 }')
	hwm_kb=$(echo "$out" | awk '{ print $5 }')
	if [ "$rc" != 0 ] || [ -z "$out" ]; then
		echo "  $label: failed (exit $rc): $(tail -n 3 "$tmp/err" | tr '\n' ' ')" >&2
		secs=nan events=0 hwm_kb=0
		return 1
	fi
}

# best LABEL CMD... — best wall time of $runs; the last run's other numbers.
best() {
	local label=$1 b=""
	shift
	for _ in $(seq "$runs"); do
		run_one "$label" "$@" || return 1
		if [ -z "$b" ] || awk -v x="$secs" -v y="$b" 'BEGIN { exit !(x < y) }'; then
			b=$secs
		fi
	done
	secs=$b
}

# heaptrack's interpreter can take many GB on deep stacks: cap its memory.
capped() { bash -c 'ulimit -v 8000000 && exec "$@"' capped "$@"; }

row() {
	printf '%-8s %-10s %9s %9s %12s %9s %10s\n' "$1" "$2" "$3" "$4" "$5" "$6" \
		"$(awk -v k="$7" 'BEGIN { printf "%.1f", k / 1024 }')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a == a + 0) printf "%.1fx", a / b; else print "-" }'; }
per_event() { awk -v s="$1" -v e="$2" 'BEGIN { if (e > 0) printf "%.2f", s / e; else print "-" }'; }

echo "memattach benchmark: bench/mabench, $per allocations per thread, best of $runs runs"
echo "(wall seconds; B/event = capture file bytes / (allocations + frees); RSS = the target's VmHWM)"
printf '%-8s %-10s %9s %9s %12s %9s %10s\n' threads tool wall slowdown capture_B B/event RSS_MB
for threads in 1 2; do
	best untracked "$bench" "$threads" "$per" || continue
	base=$secs base_events=$events
	row "$threads" untracked "$secs" 1.0x - - "$hwm_kb"

	if best memattach "$memattach" run -o "$tmp/cap" -- "$bench" "$threads" "$per"; then
		size=$(stat -c %s "$tmp/cap")
		row "$threads" memattach "$secs" "$(ratio "$secs" "$base")" "$size" \
			"$(per_event "$size" "$base_events")" "$hwm_kb"
		# Cross-check: the capture holds what mabench says it did (plus
		# its few libc start-up blocks).
		"$memattach" report stats --json "$tmp/cap" 2>/dev/null | awk -v ev="$base_events" '
			{ if (match($0, /"total_allocations": *[0-9]+/)) a = substr($0, RSTART, RLENGTH)
			  if (match($0, /"total_frees": *[0-9]+/)) f = substr($0, RSTART, RLENGTH) }
			END { gsub(/[^0-9]/, "", a); gsub(/[^0-9]/, "", f)
			      printf "         (report: %d allocations + %d frees = %d events; mabench made %d)\n", a, f, a + f, ev }'
	fi

	if [ "$have_heaptrack" = 1 ]; then
		rm -f "$tmp"/ht.*
		if best heaptrack capped heaptrack -o "$tmp/ht" "$bench" "$threads" "$per"; then
			f=$(ls "$tmp"/ht.* | head -n 1)
			size=$(stat -c %s "$f")
			row "$threads" heaptrack "$secs" "$(ratio "$secs" "$base")" "$size" \
				"$(per_event "$size" "$base_events")" "$hwm_kb"
		fi
	else
		echo "         (heaptrack not installed: apt-get install heaptrack)"
	fi
done

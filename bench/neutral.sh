#!/bin/bash
# neutral.sh BUILDDIR [ROUNDS] — interleaved benchmark of issue 18: every
# round runs every workload untracked, under `memattach run` and under
# heaptrack, one after the other (A B C A B C …), so a load that comes and
# goes on the machine falls on all of them alike; medians over the rounds.
# Workloads: bench/neutral (mixed, and fixed depth 5 and 50; 1 and 2
# threads) and bench/mabench (the older workload).
# BASE_AGENT=PATH adds a fourth tool, "base": memattach with that agent
# library (and BASE_MEMATTACH's CLI when set): an A/B in the same run.  WORKLOADS="…" picks
# rows by name; TOOLS="untracked memattach …" picks tools.
# Columns: wall seconds; slowdown (median of each round's ratio to that
# round's untracked run); added ns per event; the target's CPU and the
# CLI's CPU (everything else in the tool's process tree) in ms; capture
# bytes per event; the target's peak RSS growth over untracked (agent
# memory and what the profiler keeps in the target).
set -u
builddir=${1:?usage: neutral.sh BUILDDIR [ROUNDS]}
. "$(dirname "$0")/rounds.sh"
rounds=${2:-5}
memattach=$builddir/memattach
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-neutral.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export MEMATTACH_STALL_LIMIT=${MEMATTACH_STALL_LIMIT:-10s}

all_workloads="mixed-1t mixed-2t depth5-1t depth50-1t depth50-2t mabench-1t mabench-2t"
workloads=${WORKLOADS:-$all_workloads}
tools=${TOOLS:-untracked memattach heaptrack}
[ -n "${BASE_AGENT:-}" ] && [[ " $tools " != *" base "* ]] && tools="$tools base"
command -v heaptrack >/dev/null || tools=${tools/heaptrack/}

# cmd_of WORKLOAD — the workload's command line.
cmd_of() {
	case $1 in
	mixed-1t) echo "$builddir/bench/neutral 1 2000000 mixed" ;;
	mixed-2t) echo "$builddir/bench/neutral 2 2000000 mixed" ;;
	depth5-1t) echo "$builddir/bench/neutral 1 2000000 depth 5" ;;
	depth50-1t) echo "$builddir/bench/neutral 1 2000000 depth 50" ;;
	depth50-2t) echo "$builddir/bench/neutral 2 2000000 depth 50" ;;
	mabench-1t) echo "$builddir/bench/mabench 1 300000" ;;
	mabench-2t) echo "$builddir/bench/mabench 2 300000" ;;
	esac
}

# run TOOL WORKLOAD — one run; appends "wall cpu_all target_cpu events bytes hwm" to its file.
run() {
	local tool=$1 w=$2 cmd out cap="$tmp/cap" bytes=0
	cmd=$(cmd_of "$w")
	rm -f "$cap" "$tmp"/ht.*
	local TIMEFORMAT='%3R %3U %3S'
	case $tool in
	untracked) { time $cmd >"$tmp/out" 2>"$tmp/err" </dev/null; } 2>"$tmp/time" ;;
	memattach) { time "$memattach" run -o "$cap" -- $cmd >"$tmp/out" 2>"$tmp/err" </dev/null; } 2>"$tmp/time" ;;
	base) { time env MEMATTACH_AGENT="$BASE_AGENT" "${BASE_MEMATTACH:-$memattach}" run -o "$cap" -- $cmd \
		>"$tmp/out" 2>"$tmp/err" </dev/null; } 2>"$tmp/time" ;;
	heaptrack) { time bash -c 'ulimit -v 8000000 && exec "$@"' capped heaptrack -o "$tmp/ht" $cmd \
		>"$tmp/out" 2>"$tmp/err" </dev/null; } 2>"$tmp/time" ;;
	esac
	case $tool in
	memattach | base) [ -f "$cap" ] && bytes=$(stat -c %s "$cap") ;;
	heaptrack) f=$(ls "$tmp"/ht.* 2>/dev/null | head -n 1); [ -n "$f" ] && bytes=$(stat -c %s "$f") ;;
	esac
	out=$(grep -E '^(neutral|mabench) events' "$tmp/out" | tail -n 1)
	if [ -z "$out" ]; then
		echo "  $tool $w failed: $(tail -n 2 "$tmp/err" | tr '\n' ' ')" >&2
		return
	fi
	# mabench prints no CPU: its target CPU is left blank (-1).
	echo "$(awk '{ print $1, $2 + $3 }' "$tmp/time") \
$(echo "$out" | awk '{ print ($6 == "cpu_ms" ? $7 : -1), $3, $5 }') $bytes" | \
		awk -v b="$bytes" '{ print $1, $2, $3, $4, b, $5 }' >>"$tmp/$w.$tool"
}

echo "issue-18 benchmark: $rounds interleaved rounds; medians"
interleave "$rounds" "$workloads" "$tools"

# Medians, and each round's ratio to the untracked run of the same round.
# CPU columns come from the process tree's user+sys (bash time) and the
# target's own getrusage: on a loaded machine wall time mostly measures
# the others' load, CPU time much less so.
printf '%-11s %-9s %7s %7s %7s %7s %8s %8s %7s %7s\n' workload tool wall wall_x cpu_x tgt_x \
	tgt_ns/ev cli_ns/ev B/event RSS+MB
for w in $workloads; do
	[ -f "$tmp/$w.untracked" ] || continue
	for tool in $tools; do
		[ -f "$tmp/$w.$tool" ] || continue
		paste -d ' ' "$tmp/$w.untracked" "$tmp/$w.$tool" | awk -v w="$w" -v t="$tool" '
			function med(a, n,   i, j, x) {
				for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
			# untracked: $1 wall $2 cpu $3 tcpu $4 events $5 bytes $6 hwm; tool: $7..$12
			{ n++; wall[n] = $7; wx[n] = $7 / $1; cx[n] = $8 / $2
			  tx[n] = $9 > 0 ? $9 / ($2 * 1000) : 0
			  tns[n] = $9 > 0 ? ($9 / 1000 - $2) * 1e9 / $10 : 0
			  cns[n] = $9 > 0 ? ($8 - $9 / 1000) * 1e9 / $10 : 0
			  bpe[n] = $11 / $10; rss[n] = ($12 - $6) / 1024 }
			END { printf "%-11s %-9s %7.3f %6.2fx %6.2fx %6.2fx %8.0f %8.0f %7.2f %7.1f\n", w, t,
				med(wall, n), med(wx, n), med(cx, n), med(tx, n), med(tns, n), med(cns, n),
				med(bpe, n), med(rss, n) }'
	done
done
echo "(wall_x, cpu_x: wall time and the tool's whole CPU (target + CLI or interpreter) over untracked;"
echo " tgt_x: the target's own CPU over untracked; tgt_ns/ev, cli_ns/ev: CPU added per event in the"
echo " target and in the tool's other processes; RSS+MB: the target's VmHWM minus untracked's)"

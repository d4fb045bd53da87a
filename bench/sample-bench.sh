#!/bin/bash
# sample-bench.sh BUILDDIR [ROUNDS] — what --sample costs: untracked vs
# `memattach run --sample SIZE` for each SIZE (64KiB 512KiB 4MiB), on the C
# workload of issue 19 (bench/neutral 1 3000000 mixed: malloc-heavy, deep
# stacks, no frame pointers) and the Python one (bench/python_workload.py
# 60000 at depth 14, Debian's python3, default mode).  Interleaved: each round runs
# every (workload, tool) once, in turn, so load on the machine falls on all
# alike; the figure is the median over the rounds of each round's ratio of
# the target's CPU time (every thread of it, the agent's too: getrusage at
# its end) to the untracked run's.
# Accuracy, for each sampled run: the estimated bytes allocated over the
# agent's exact count of them (`report stats --json`: total_bytes_allocated
# against sampled.exact), as a signed error in percent; the table gives the
# median and the range over the rounds, and the samples taken.
# BASE=BUILDDIR2 adds the same SIZEs with that build ("base"): a before /
# after in one run.  SIZES="..." ("exact": no --sample) and WORKLOADS="c py"
# choose; numbers, not pass/fail.
set -u
builddir=${1:?usage: sample-bench.sh BUILDDIR [ROUNDS]}
rounds=${2:-7}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
. "$srcdir/bench/rounds.sh"
sizes=${SIZES:-"64KiB 512KiB 4MiB"}
workloads=${WORKLOADS:-"c py"}
base=${BASE:-}
py=${PYTHON_BENCH:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-sample-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export MEMATTACH_STALL_LIMIT=${MEMATTACH_STALL_LIMIT:-10s}

# The Python workload, then the process's CPU in ms on a line of its own.
pycode='import resource, runpy, sys
sys.argv = [sys.argv[1], "60000", "14"]
runpy.run_path(sys.argv[0], run_name="__main__")
r = resource.getrusage(resource.RUSAGE_SELF)
print("cpu_ms %d" % ((r.ru_utime + r.ru_stime) * 1000))'

tools="untracked"
for s in $sizes; do tools="$tools new-$s"; done
[ -n "$base" ] && for s in $sizes; do tools="$tools base-$s"; done

# run TOOL WORKLOAD — appends the target's CPU ms to $tmp/WORKLOAD.TOOL.
run() {
	local tool=$1 w=$2 ma= size= out
	case $tool in
	new-*) ma=$builddir/memattach size=${tool#new-} ;;
	base-*) ma=$base/memattach size=${tool#base-} ;;
	esac
	local cmd
	case $w in
	c) cmd=("$builddir/bench/neutral" 1 3000000 mixed) ;;
	py) cmd=("$py" -c "$pycode" "$srcdir/bench/python_workload.py") ;;
	esac
	local how=(--sample "$size")
	[ "$size" = exact ] && how=()
	if [ -n "$ma" ]; then
		"$ma" run "${how[@]}" -o "$tmp/cap" -- "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
	else
		"${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
	fi
	out=$(grep -o 'cpu_ms [0-9]*' "$tmp/out" | tail -n 1 | cut -d' ' -f2)
	if [ -z "$out" ]; then
		echo "  $w $tool failed: $(tail -n 2 "$tmp/err" | tr '\n' ' ')" >&2
		out=NaN
	fi
	echo "$out" >>"$tmp/$w.$tool"
	[ -n "$ma" ] && [ "$size" != exact ] && accuracy "$ma" >>"$tmp/$w.$tool.acc"
	rm -f "$tmp/cap"
}

# accuracy MEMATTACH — "error_percent samples" of the capture in $tmp/cap.
accuracy() {
	"$1" report stats --json "$tmp/cap" 2>/dev/null | "$py" -c '
import json, sys
d = json.load(sys.stdin); s = d.get("sampled") or {}
exact = (s.get("exact") or {}).get("total_bytes_allocated")
if exact: print("%.2f %d" % (100.0 * (d["total_bytes_allocated"] - exact) / exact, s["samples"]))
else: print("NaN 0")'
}

echo "--sample cost: $rounds interleaved rounds; target CPU over untracked, median of the rounds' ratios"
interleave "$rounds" "$workloads" "$tools"

printf '%-4s %-14s %9s %8s %s\n' wl tool cpu_ms ratio "ratios (by round)"
for w in $workloads; do
	for tool in $tools; do
		paste -d ' ' "$tmp/$w.untracked" "$tmp/$w.$tool" | awk -v w="$w" -v t="$tool" '
			function med(a, n,   i, j, x) {
				for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
				return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
			$1 > 0 && $2 > 0 { n++; ms[n] = $2; x[n] = $2 / $1; all = all sprintf(" %.2f", $2 / $1) }
			END { if (n) printf "%-4s %-14s %9.0f %7.3fx %s\n", w, t, med(ms, n), med(x, n), all }'
	done
done
if [ -n "$base" ]; then
	echo "new over base, the same round (median of the rounds' ratios):"
	for w in $workloads; do
		for s in $sizes; do
			paste -d ' ' "$tmp/$w.base-$s" "$tmp/$w.new-$s" | awk -v w="$w" -v s="$s" '
				$1 > 0 && $2 > 0 { n++; x[n] = $2 / $1 }
				END { for (i = 2; i <= n; i++) { v = x[i]; for (j = i - 1; j >= 1 && x[j] > v; j--) x[j + 1] = x[j]; x[j + 1] = v }
				      if (n) printf "%-4s %-10s %7.3fx\n", w, s, n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }'
		done
	done
fi
echo "accuracy: estimated bytes allocated vs the exact count, error % (median, range), samples (median)"
for w in $workloads; do
	for tool in $tools; do
		[ -s "$tmp/$w.$tool.acc" ] || continue
		sort -g "$tmp/$w.$tool.acc" | awk -v w="$w" -v t="$tool" '
			{ n++; e[n] = $1; c[n] = $2 }
			END { for (i = 2; i <= n; i++) { v = c[i]; for (j = i - 1; j >= 1 && c[j] > v; j--) c[j + 1] = c[j]; c[j + 1] = v }
			      printf "%-4s %-14s %+7.2f%% (%+.2f .. %+.2f)  samples %d\n", w, t, e[int((n + 1) / 2)], e[1], e[n], c[int((n + 1) / 2)] }'
	done
done

#!/bin/bash
# python-instr.sh BUILDDIR — the Python overhead benchmark in instructions:
# bench/python_workload.py run once per cell under callgrind, untracked,
# under `memattach run` (Python frames, the default) and `memattach run
# --trace-python-allocators`.  An instruction count does not move with the
# machine's load, so one run per cell settles a step that timed rounds on a
# shared machine cannot (python-bench.sh measures time).  It misses what
# instructions do not show: cache misses, locked instructions, system calls.
#
# Per cell: the target's instructions (every thread, the agent's writer
# too) in millions for the whole run and for the loop alone (the run minus
# a run of 0 iterations: interpreter start-up and the agent's session set-up
# left out), and the loop's ratio to the untracked loop.  BASE=BUILDDIR adds
# an older build's two tracked modes (b-default, b-pyalloc); PYTHONS,
# DEPTHS, ITERS (default 1000) and MODES as in python-bench.sh (a depth
# with a "d", 40d: every level a function of its own, as in a real program,
# where the recursive chain lets a frame vouch for its neighbour's code).
# Needs valgrind.
set -u
top=${1:-.}
srcdir=$(cd "$(dirname "$0")" && pwd)
wl="$srcdir/python_workload.py"
iters=${ITERS:-1000}
depths=${DEPTHS:-"15 40 40d"}
base=${BASE:-}
modes=${MODES:-"untracked default pyalloc${base:+ b-default b-pyalloc}"}
command -v valgrind >/dev/null || { echo "python-instr.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-bench-pyi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
PYTHONS=${PYTHONS:-"/usr/bin/python3 $(ls -d /root/.pyenv/versions/3.*/bin/python3 2>/dev/null | tr '\n' ' ')"}

# count MODE PY DEPTH ITERS — the target's instructions in one run
count() {
	local mode=$1 py=$2 depth=$3 n=$4 ma="$top/memattach" opt=
	case $mode in b-*) ma="$base/memattach"; mode=${mode#b-} ;; esac
	rm -f "$tmp"/vg.*
	local vg=(valgrind --tool=callgrind --callgrind-out-file=/dev/null --log-file="$tmp/vg.%p")
	case $mode in
	untracked) "${vg[@]}" "$py" "$wl" "$n" "$depth" >/dev/null 2>&1 ;;
	pyalloc) opt=--trace-python-allocators ;&
	default) MEMATTACH_STALL_LIMIT=100s "$ma" run -q $opt -o "$tmp/c.memcap" -- \
			"${vg[@]}" "$py" "$wl" "$n" "$depth" >/dev/null 2>&1 ;;
	esac
	sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$tmp"/vg.* 2>/dev/null | head -1
}

echo "python benchmark in instructions: $iters iterations, depths $depths (millions; loop = run - run of 0 iterations)"
printf "%-40s %5s" interpreter depth
for m in $modes; do printf " %18s" "$m run/loop"; done
for m in $modes; do [ "$m" = untracked ] || printf " %10s" "$m/u"; done
echo
for py in $PYTHONS; do
	"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null || continue
	for depth in $depths; do
		printf "%-40s %5s" "$py" "$depth"
		declare -A loop=()
		for m in $modes; do
			whole=$(count "$m" "$py" "$depth" "$iters") zero=$(count "$m" "$py" "$depth" 0)
			if [ -z "$whole" ] || [ -z "$zero" ]; then
				loop[$m]=
				printf " %18s" "failed"
				continue
			fi
			loop[$m]=$((whole - zero))
			awk -v a="$whole" -v b="${loop[$m]}" 'BEGIN { printf " %8.1f/%-9.1f", a / 1e6, b / 1e6 }'
		done
		for m in $modes; do
			[ "$m" = untracked ] && continue
			if [ -n "${loop[$m]}" ] && [ -n "${loop[untracked]:-}" ]; then
				awk -v a="${loop[$m]}" -v b="${loop[untracked]}" 'BEGIN { printf " %9.3fx", a / b }'
			else
				printf " %10s" "-"
			fi
		done
		echo
		unset loop
	done
done

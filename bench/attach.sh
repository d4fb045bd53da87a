#!/bin/bash
# attach.sh BUILDDIR [RUNS] — the attach half of `make bench`: memattach
# --pid vs heaptrack -p (gdb injection) on the same running workload
# (bench/maloop, 1 thread), in the same run.  For each: the attach latency
# (tool start -> its "ready" line: memattach's "tracking pid", heaptrack's
# "injection finished"; and memattach's own "(attached in X ms)"), and the
# workload's throughput while attached relative to just before (slowdown).
set -u
builddir=${1:?usage: attach.sh BUILDDIR [RUNS]}
runs=${2:-3}
loop=$builddir/bench/maloop
memattach=$builddir/memattach
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-bench-attach.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }

# rate FROM TO — operations per second of the workload between two times
# (from its tick lines, linear between ticks is not needed at 20 ms).
rate() {
	awk -v a="$1" -v b="$2" '$1 == "tick" {
		if ($2 >= a && t0 == "") { t0 = $2; o0 = $3 }
		if ($2 <= b) { t1 = $2; o1 = $3 } }
		END { if (t1 > t0) printf "%.0f", (o1 - o0) / (t1 - t0); else print 0 }' "$tmp/ticks"
}

# one TOOL — one run; prints a row.
one() {
	local tool=$1 lpid tpid t0 t1 ready pat
	"$loop" 1 7 >"$tmp/ticks" 2>/dev/null </dev/null &
	lpid=$!
	sleep 1.5
	: >"$tmp/err"
	t0=$(now)
	case $tool in
	memattach)
		pat='tracking pid'
		"$memattach" --pid "$lpid" --duration 4 -o "$tmp/cap" >/dev/null 2>"$tmp/err" </dev/null &
		;;
	heaptrack)
		pat='injection finished'
		heaptrack -o "$tmp/ht" -p "$lpid" >"$tmp/err" 2>&1 </dev/null &
		;;
	esac
	tpid=$!
	ready=""
	for _ in $(seq 6000); do
		if grep -q "$pat" "$tmp/err" 2>/dev/null; then ready=$(now); break; fi
		kill -0 "$tpid" 2>/dev/null || break
		sleep 0.002
	done
	wait "$lpid"
	wait "$tpid" 2>/dev/null
	if [ -z "$ready" ]; then
		printf '%-10s failed: %s\n' "$tool" "$(tail -n 2 "$tmp/err" | tr '\n' ' ')"
		return
	fi
	local lat before during own="-"
	lat=$(awk -v a="$t0" -v b="$ready" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	before=$(rate "$(awk -v t="$t0" 'BEGIN { printf "%.4f", t - 1.0 }')" "$t0")
	during=$(rate "$(awk -v t="$ready" 'BEGIN { printf "%.4f", t + 0.5 }')" \
		"$(awk -v t="$ready" 'BEGIN { printf "%.4f", t + 2.5 }')")
	[ "$tool" = memattach ] && own=$(sed -n 's/.*(attached in \([0-9.]*\) ms).*/\1/p' "$tmp/err")
	printf '%-10s %12s %14s %14s %14s %9s\n' "$tool" "$lat" "$own" "$before" "$during" \
		"$(awk -v a="$before" -v b="$during" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')"
	rm -f "$tmp"/ht.* "$tmp/cap"
}

echo
echo "attach benchmark: bench/maloop (1 thread, malloc/free at stack depth 4..12), $runs runs per tool"
echo "(latency: tool start -> its ready line; ops/s: before = the second before the attach, attached = 0.5..2.5 s after ready)"
printf '%-10s %12s %14s %14s %14s %9s\n' tool latency_ms own_report_ms ops/s_before ops/s_attached slowdown
have_heaptrack=1
command -v heaptrack >/dev/null || have_heaptrack=0
for _ in $(seq "$runs"); do
	one memattach
	if [ "$have_heaptrack" = 1 ]; then one heaptrack; fi
done
[ "$have_heaptrack" = 1 ] || echo "(heaptrack not installed: apt-get install heaptrack)"

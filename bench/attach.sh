#!/bin/bash
# attach.sh BUILDDIR [RUNS] — the attach half of `make bench`: memattach
# --pid vs heaptrack -p (gdb injection) on the same running workload
# (bench/maloop), and `memattach run` of that workload, 1 and 4 threads
# (THREADS="1 4"), in one interleaved run.  For the attach tools: the
# attach latency (tool start -> its "ready" line: memattach's "tracking
# pid", heaptrack's "injection finished"; and memattach's own "(attached in
# X ms)"), and the workload's throughput while attached relative to just
# before (slowdown).  For `memattach run`: throughput relative to an
# untracked run of the same round over the same stretch of the run (1 to
# 3 s after start).  Two slowdowns each: wall (operations per second) and
# CPU (the process's CPU time per operation, every thread of it: what the
# tracking costs, less disturbed by other load on the machine).
# NO_HEAPTRACK=1 leaves heaptrack out.
set -u
builddir=${1:?usage: attach.sh BUILDDIR [RUNS]}
runs=${2:-3}
loop=$builddir/bench/maloop
memattach=$builddir/memattach
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-bench-attach.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
at() { awk -v t="$1" -v d="$2" 'BEGIN { printf "%.4f", t + d }'; }

# rate FROM TO — "OPS_PER_S CPU_NS_PER_OP" of the workload between two times
# (from its tick lines: time, operations, process CPU seconds).
rate() {
	awk -v a="$1" -v b="$2" '$1 == "tick" {
		if ($2 >= a && t0 == "") { t0 = $2; o0 = $3; c0 = $4 }
		if ($2 <= b) { t1 = $2; o1 = $3; c1 = $4 } }
		END { if (t1 > t0 && o1 > o0) printf "%.0f %.1f", (o1 - o0) / (t1 - t0), (c1 - c0) * 1e9 / (o1 - o0);
		      else print "0 0" }' "$tmp/ticks"
}

# ratio A B — A/B as "N.NNx", "-" when B is 0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

row() { printf '%-10s %3s %10s %8s %10s %10s %8s %8s %8s %8s\n' "$@"; }

# launched TOOL THREADS — untracked or `memattach run`; sets wall, cpu
launched() {
	local tool=$1 threads=$2 t0
	t0=$(now)
	case $tool in
	untracked) "$loop" "$threads" 4 >"$tmp/ticks" 2>/dev/null </dev/null ;;
	run) "$memattach" run -q -o "$tmp/cap" -- "$loop" "$threads" 4 >"$tmp/ticks" 2>/dev/null </dev/null ;;
	esac
	read -r wall cpu < <(rate "$(at "$t0" 1.0)" "$(at "$t0" 3.0)")
	rm -f "$tmp/cap"
}

# attached TOOL THREADS — one attach run; prints a row.
attached() {
	local tool=$1 threads=$2 lpid tpid t0 ready pat
	"$loop" "$threads" 7 >"$tmp/ticks" 2>/dev/null </dev/null &
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
		printf '%-10s %3s failed: %s\n' "$tool" "$threads" "$(tail -n 2 "$tmp/err" | tr '\n' ' ')"
		return
	fi
	local lat own="-" bw bc dw dc
	lat=$(awk -v a="$t0" -v b="$ready" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
	read -r bw bc < <(rate "$(at "$t0" -1.0)" "$t0")
	read -r dw dc < <(rate "$(at "$ready" 0.5)" "$(at "$ready" 2.5)")
	[ "$tool" = memattach ] && own=$(sed -n 's/.*(attached in \([0-9.]*\) ms).*/\1/p' "$tmp/err")
	row "$tool" "$threads" "$lat" "$own" "$bw" "$dw" "$bc" "$dc" "$(ratio "$bw" "$dw")" "$(ratio "$dc" "$bc")"
	rm -f "$tmp"/ht.* "$tmp/cap"
}

echo
echo "attach benchmark: bench/maloop (malloc/free at stack depth 4..12), $runs interleaved rounds"
echo "(attach: before = the second before the attach, tracked = 0.5..2.5 s after ready;"
echo " run: untracked and tracked = 1..3 s after start, in separate runs of the same round)"
row tool thr latency_ms own_ms ops/s ops/s_trk ns/op ns/op_trk slow_wall slow_cpu
have_heaptrack=1
command -v heaptrack >/dev/null || have_heaptrack=0
[ -n "${NO_HEAPTRACK:-}" ] && have_heaptrack=0
for threads in ${THREADS:-1 4}; do
	for _ in $(seq "$runs"); do
		launched untracked "$threads"
		uw=$wall uc=$cpu
		launched run "$threads"
		row "run" "$threads" - - "$uw" "$wall" "$uc" "$cpu" "$(ratio "$uw" "$wall")" "$(ratio "$cpu" "$uc")"
		attached memattach "$threads"
		if [ "$have_heaptrack" = 1 ]; then attached heaptrack "$threads"; fi
	done
done
command -v heaptrack >/dev/null || echo "(heaptrack not installed: apt-get install heaptrack)"

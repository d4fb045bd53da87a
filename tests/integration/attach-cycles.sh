#!/bin/sh
# attach-cycles.sh — 50 attach/detach cycles (--duration 0.1) on a target
# whose 5 threads hammer malloc: every cycle exits 0 in bounded time; the
# target's fds and threads do not grow (equal after cycle 2 and after cycle
# 50), nor do its mappings (the least of the last six cycles at most the
# most of cycles 2-7: a batch a thread held in hand when a session ended
# stays mapped, in the pool, until the next session, so the count moves up
# by one or two now and then, in any cycle, with where the threads were; a
# mapping left by every session would raise every one of the last six by
# 37 or more), nor does its memory: the private anonymous memory
# (smaps_rollup's Anonymous: the agent's mappings and what it leaves in the
# heap, besides the hammer's own churn) has a median over the last six
# cycles at most FLAT_KB above its median over cycles 2-7 (a session that
# left 100 KiB behind would add 4.3 MiB); then a counted round unattached and one attached give the
# same truth, the attached one exact in the capture, and no block was
# corrupted.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" 2>/dev/null; exit 1; }
CYCLES=${CYCLES:-50}
[ "$CYCLES" -ge 14 ] || CYCLES=14
FLAT_KB=${FLAT_KB:-256}

anon_kb() {
	awk '/^Anonymous:/ { print $2 }' "/proc/$hpid/smaps_rollup"
}

# median_of FIRST LAST: the median of lines FIRST..LAST of $ma_tmp/anon
median_of() {
	sed -n "$1,$2p" "$ma_tmp/anon" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

counts() {
	echo "fds=$(ls "/proc/$hpid/fd" | wc -l) threads=$(ls "/proc/$hpid/task" | wc -l)"
}

# most_of FIRST LAST FILE: the largest of lines FIRST..LAST of FILE
most_of() {
	sed -n "$1,$2p" "$3" | sort -n | tail -n 1
}

# least_of FIRST LAST FILE: the smallest of lines FIRST..LAST of FILE
least_of() {
	sed -n "$1,$2p" "$3" | sort -n | head -n 1
}

start_hammer || fail
t0=$(now_s)
c=1
while [ "$c" -le "$CYCLES" ]; do
	timeout 30 "$MEMATTACH" --pid "$hpid" --duration 0.1 -o "$ma_tmp/c.cap" \
		>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		ma_show "memattach stderr" "$ma_tmp/merr"
		[ "$rc" = 6 ] && { echo "SKIP: ptrace is not permitted here"; kill -9 "$hpid"; exit 77; }
		echo "FAIL: cycle $c: memattach exited $rc (124 = hung, killed after 30 s)"
		fail
	fi
	if [ "$c" = 1 ] || [ "$c" = "$CYCLES" ]; then
		ma_show "cycle $c memattach stderr" "$ma_tmp/merr"
		report_json "$ma_tmp/c.cap" "$ma_tmp/c.json" || fail
		grep -q '"total_allocations": [1-9]' "$ma_tmp/c.json" ||
			{ echo "FAIL: cycle $c captured no allocations from the busy target"; fail; }
	fi
	rm -f "$ma_tmp/c.cap"
	[ "$(proc_state "$hpid")" = "" ] && { echo "FAIL: the target died in cycle $c"; fail; }
	[ "$c" = 2 ] && after2=$(counts)
	[ "$c" -ge 2 ] && anon_kb >>"$ma_tmp/anon" && wc -l <"/proc/$hpid/maps" >>"$ma_tmp/maps"
	c=$((c + 1))
done
after=$(counts)
echo "--- $CYCLES cycles in $(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }') s"
echo "--- after cycle 2:  $after2"
echo "--- after cycle $CYCLES: $after"
if [ "$after2" != "$after" ]; then
	echo "FAIL: the target's fds/threads changed between cycle 2 and cycle $CYCLES"
	fail
fi
maps_early=$(most_of 1 6 "$ma_tmp/maps")
maps_late=$(least_of $((CYCLES - 6)) $((CYCLES - 1)) "$ma_tmp/maps")
echo "--- mappings after cycles 2..$CYCLES: $(tr '\n' ' ' <"$ma_tmp/maps")"
if [ -z "$maps_early" ] || [ -z "$maps_late" ] || [ "$maps_late" -gt "$maps_early" ]; then
	echo "FAIL: the target's mappings grew over the cycles (most of cycles 2-7: $maps_early, least of the last six: $maps_late)"
	fail
fi

early=$(median_of 1 6)
late=$(median_of $((CYCLES - 6)) $((CYCLES - 1)))
echo "--- anonymous memory (KiB) after cycles 2..$CYCLES: $(tr '\n' ' ' <"$ma_tmp/anon")"
echo "--- median of cycles 2-7: $early KiB; of the last six: $late KiB"
if [ -z "$early" ] || [ -z "$late" ] || [ "$late" -gt $((early + FLAT_KB)) ]; then
	echo "FAIL: the target's memory grew over the cycles ($early -> $late KiB, bound +$FLAT_KB KiB)"
	fail
fi

# The target's own bookkeeping: a round unattached, then one attached.
hammer_round 1 || fail
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 2 || fail
stop_attach || fail
stop_hammer || fail
r1=$(sed -n 's/^counted round=1 tid=[0-9]* //p' "$ma_tmp/hout")
r2=$(sed -n 's/^counted round=2 tid=[0-9]* //p' "$ma_tmp/hout")
if [ -z "$r1" ] || [ "$r1" != "$r2" ]; then
	echo "FAIL: the counted rounds differ (round 1 unattached, round 2 attached):"
	grep '^counted' "$ma_tmp/hout"
	exit 1
fi
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 2

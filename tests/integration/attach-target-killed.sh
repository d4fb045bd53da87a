#!/bin/sh
# attach-target-killed.sh — the target SIGKILLed mid-capture: memattach
# exits 13 (MA_EXIT_TARGET_GONE) within seconds, says the target exited, and
# the capture reads.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }

start_hammer || fail
attach_bg "$hpid" "$ma_tmp/gone.cap" || fail
sleep 0.5
kill -9 "$hpid"
wait "$hpid" 2>/dev/null
if ! wait_gone "$mpid" 15; then
	ma_show "memattach stderr" "$ma_tmp/merr"
	echo "FAIL: memattach still running 15 s after its target was killed"
	exit 1
fi
ma_show "memattach stderr" "$ma_tmp/merr"
if [ "$wrc" != 13 ]; then
	echo "FAIL: memattach exited $wrc after its target was killed (want 13, MA_EXIT_TARGET_GONE)"
	exit 1
fi
grep -q "pid $hpid exited" "$ma_tmp/merr" || { echo "FAIL: memattach did not say the target exited"; exit 1; }
report_json "$ma_tmp/gone.cap" "$ma_tmp/g.json" || exit 1
grep -q '"total_allocations": [1-9]' "$ma_tmp/g.json" || { echo "FAIL: the capture holds no allocations"; exit 1; }
echo "--- report: $(grep -E '"(total_allocations|truncated|complete)"' "$ma_tmp/g.json" | tr -d '\n ')"
echo "attach-target-killed: exit 13, said so, capture readable"

#!/bin/sh
# attach-back-to-back.sh — attaches right after a detach, while the last
# session's end is still giving memory back in the target (the agent reads
# MEMATTACH_TEST_END_DELAY_MS in the target's environment and makes it
# last 500 ms, as a loaded machine may): each memattach waits for that end
# instead of taking it for another memattach (exit 12, "already being
# tracked"), and the last one's capture of a counted round is exact.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }

export MEMATTACH_TEST_END_DELAY_MS=500
start_hammer || fail
unset MEMATTACH_TEST_END_DELAY_MS
for c in 1 2 3; do
	timeout 60 "$MEMATTACH" --pid "$hpid" --duration 0.1 -o "$ma_tmp/c$c.cap" >/dev/null 2>"$ma_tmp/e$c" </dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		ma_show "memattach stderr" "$ma_tmp/e$c"
		echo "FAIL: attach $c, right after the last detach: exit $rc (want 0; 12: the ending session taken for another memattach)"
		fail
	fi
done
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 1 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 1

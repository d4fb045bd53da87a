#!/bin/sh
# attach-stopped.sh — memattach --pid on a SIGSTOPped target: memattach
# ends in bounded time (no hang), the target is still stopped ('T')
# afterwards, and once continued it runs on, the agent's thread goes away
# and a new attach captures a counted round exactly.
# (attach-stopped-clear.sh checks the refusal itself: exit 17, one line.)
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }
nthreads() { ls "/proc/$hpid/task" | wc -l; }

start_hammer || fail
before=$(nthreads)
kill -STOP "$hpid"
i=0
while [ "$(proc_state "$hpid")" != T ]; do
	i=$((i + 1)); [ "$i" -gt 100 ] && { echo "FAIL: the target did not stop"; fail; }
	sleep 0.05
done
t0=$(now_s)
timeout 60 "$MEMATTACH" --pid "$hpid" --duration 1 -o "$ma_tmp/stopped.cap" \
	>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null
rc=$?
took=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
ma_show "memattach stderr (stopped target)" "$ma_tmp/merr"
echo "--- memattach on the stopped target: exit $rc after $took s"
if [ "$rc" = 124 ]; then
	echo "FAIL: memattach hung on a stopped target (killed after 60 s)"
	fail
fi
st=$(proc_state "$hpid")
if [ "$st" != T ]; then
	echo "FAIL: the target is in state '$st' after memattach, want T (still stopped)"
	fail
fi

kill -CONT "$hpid"
i=0
while [ "$(nthreads)" != "$before" ]; do
	i=$((i + 1))
	[ "$i" -gt 200 ] && { echo "FAIL: 10 s after SIGCONT the target has $(nthreads) threads, $before before"; fail; }
	sleep 0.05
done
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 1 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 1

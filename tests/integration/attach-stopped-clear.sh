#!/bin/sh
# attach-stopped-clear.sh — memattach --pid on a SIGSTOPped target must fail
# clearly (the agent cannot run in a stopped process): exit 17
# (MA_EXIT_STOPPED) within 5 s, one line saying the target is stopped, the
# target left stopped and without the agent.
. "$(dirname "$0")/attach-common.sh"

"$TARGETS/blocked" sleep >"$ma_tmp/bout" 2>&1 </dev/null &
bpid=$!
ma_wait_for "$ma_tmp/bout" '^blocking ' 10 || { echo "FAIL: target did not start"; exit 1; }
kill -STOP "$bpid"
i=0
while [ "$(proc_state "$bpid")" != T ]; do   # the stop is the target's to take
	i=$((i + 1)); [ "$i" -gt 200 ] && { echo "FAIL: the target did not stop"; kill -9 "$bpid"; exit 1; }
	sleep 0.05
done
t0=$(now_s)
timeout 60 "$MEMATTACH" --pid "$bpid" --duration 1 -o "$ma_tmp/s.cap" \
	>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null
rc=$?
took=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
ma_show "memattach stderr" "$ma_tmp/merr"
st=$(proc_state "$bpid")
mapped=no
agent_mapped "$bpid" && mapped=yes
kill -9 "$bpid"
echo "--- exit $rc after $took s; target state '$st'; agent mapped: $mapped"
bad=0
[ "$rc" = 17 ] || { echo "FAIL: exit $rc, want 17 (MA_EXIT_STOPPED)"; bad=1; }
fcmp "$took < 5" || { echo "FAIL: took $took s, want < 5 s"; bad=1; }
grep -qi 'stopped' "$ma_tmp/merr" || { echo "FAIL: memattach does not say the target is stopped"; bad=1; }
[ "$(grep -c . "$ma_tmp/merr")" = 1 ] || { echo "FAIL: want one line of error"; bad=1; }
[ "$st" = T ] || { echo "FAIL: target state '$st', want T"; bad=1; }
[ "$mapped" = no ] || { echo "FAIL: the agent was loaded into the stopped target"; bad=1; }
exit "$bad"

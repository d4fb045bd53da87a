#!/bin/sh
# attach-cli-killed.sh — memattach SIGKILLed mid-capture: the agent lets
# go (its thread is gone, the target keeps hammering; the time it took is
# printed, about 10-50 ms, and judged only against a 10 s bound so that
# a loaded machine does not fail the product), a new
# memattach --pid attaches (not refused as busy) and captures a counted
# round exactly; the killed capture reads with a truncation warning.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }
nthreads() { ls "/proc/$hpid/task" | wc -l; }

start_hammer || fail
before=$(nthreads)
attach_bg "$hpid" "$ma_tmp/killed.cap" || fail
sleep 0.5
during=$(nthreads)
kill -9 "$mpid"
wait "$mpid" 2>/dev/null
t0=$(now_s)
ops0=$(awk '{ print $14 + $15 }' "/proc/$hpid/stat")
# The agent's thread ends once it sees the socket closed.
i=0
while [ "$(nthreads)" != "$before" ]; do
	i=$((i + 1))
	if [ "$i" -gt 200 ]; then
		echo "FAIL: 10 s after memattach was killed the target still has $(nthreads) threads (had $before before the attach, $during during)"
		fail
	fi
	sleep 0.05
done
echo "--- threads: $before before, $during attached, $before again $(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }') s after the kill"
sleep 0.5
case $(proc_state "$hpid") in
R | S) ;;
*) echo "FAIL: the target is in state '$(proc_state "$hpid")' after memattach was killed"; fail ;;
esac
ops1=$(awk '{ print $14 + $15 }' "/proc/$hpid/stat")
[ "$ops1" -gt "$ops0" ] || { echo "FAIL: the target does not run (CPU time $ops0 -> $ops1)"; fail; }

attach_bg "$hpid" "$ma_tmp/h.cap" || { echo "FAIL: a new memattach could not attach after the first was killed"; fail; }
hammer_round 1 || fail
stop_attach || fail
stop_hammer || fail

timeout 120 "$MEMATTACH" report stats "$ma_tmp/killed.cap" >"$ma_tmp/kout" 2>"$ma_tmp/kerr"
rc=$?
ma_show "killed capture: report stats stderr" "$ma_tmp/kerr"
if [ "$rc" != 0 ]; then
	echo "FAIL: report stats on the killed capture exited $rc"
	exit 1
fi
grep -qi 'truncated' "$ma_tmp/kerr" || { echo "FAIL: no truncation warning for the killed capture"; exit 1; }
report_json "$ma_tmp/killed.cap" "$ma_tmp/k.json" || exit 1
grep -q '"truncated": true' "$ma_tmp/k.json" || { echo "FAIL: the killed capture's JSON does not say truncated"; exit 1; }
grep -q '"total_allocations": [1-9]' "$ma_tmp/k.json" || { echo "FAIL: the killed capture holds no allocations"; exit 1; }
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 1

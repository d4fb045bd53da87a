#!/bin/sh
# attach-hammer.sh — attach while 5 threads (main included) hammer
# malloc/free: the safe point must be found under fire, no block may be
# corrupted, and two counted rounds run while attached are exact per thread
# (a round before the attach must not be in the capture).
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }

start_hammer || fail
hammer_round 1 || fail          # before the attach: not in the capture
sleep 0.3
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
ma_show "memattach stderr" "$ma_tmp/merr"
hammer_round 2 || fail
hammer_round 3 || fail
stop_attach || fail
agent_mapped "$hpid" || { echo "FAIL: no agent mapped in the target after the capture"; fail; }
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 2 3

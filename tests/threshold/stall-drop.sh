#!/bin/bash
# stall-drop.sh — a CLI that does not read (SIGSTOP) holds no thread of the
# target longer than --stall-limit: past it the agent drops events, counts
# them exactly and records again once the CLI reads.  The target times
# every allocator call itself and counts what it did; the capture's
# tracked + lost events must add up to those counts exactly, and the
# reports must say that events were lost.
. "$(dirname "$0")/../integration/common.sh"
# wait_gone PID SECONDS — waits for PID to exit, status in $wrc.
wait_gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null && [ "$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]; do
		i=$((i + 1))
		[ "$i" -gt $(($2 * 20)) ] && { kill -9 "$1"; wait "$1"; wrc=timeout; return 1; }
		sleep 0.05
	done
	wait "$1"
	wrc=$?
}
LIMIT_MS=100
fail=0
bad() { echo "FAIL: $*"; fail=1; }
cleanup() { kill -9 "$tpid" "$mpid" 2>/dev/null; }
trap 'cleanup; rm -rf "$ma_tmp"' EXIT
cap=$ma_tmp/stall.cap

# Bad values are refused with one line and the usage exit code.
"$MEMATTACH" run --on-stall wait -- true 2>"$ma_tmp/e1"
rc=$?
[ "$rc" = 2 ] && grep -q "^memattach: --on-stall: 'wait' is neither drop nor end$" "$ma_tmp/e1" ||
	bad "--on-stall wait: exit $rc, $(cat "$ma_tmp/e1")"
"$MEMATTACH" run --stall-limit 0 -- true 2>"$ma_tmp/e2"
rc=$?
[ "$rc" = 2 ] && grep -q "^memattach: --stall-limit: " "$ma_tmp/e2" ||
	bad "--stall-limit 0: exit $rc, $(cat "$ma_tmp/e2")"

"$ma_builddir/tests/threshold/stallee" --wait-signal --slow $((LIMIT_MS / 2)) --after 200000 \
	>"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
tpid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 10 || { echo "FAIL: the target did not start"; exit 1; }
"$MEMATTACH" --pid "$tpid" --stall-limit ${LIMIT_MS}ms -o "$cap" >/dev/null 2>"$ma_tmp/err" </dev/null &
mpid=$!
ma_wait_tracking || exit 1

# The CLI stops reading; the target allocates until a call of its own has
# waited (the batches ran out), then 200000 pairs more.
kill -STOP "$mpid"
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^past ' 120 || bad "the target did not get past the stall"
kill -CONT "$mpid"
# Once the CLI reads again the agent records again and sends the count of
# what it dropped; the capture being written shows it.
lost=0
for _ in $(seq 300); do
	kill -0 "$mpid" 2>/dev/null || break   # the session ended: no count will come
	"$MEMATTACH" report stats --json "$cap" >"$ma_tmp/live.json" 2>/dev/null
	lost=$("$PYTHON" -c 'import json,sys
try: print(json.load(open(sys.argv[1]))["events_lost"]["events"])
except Exception: print(0)' "$ma_tmp/live.json")
	[ "$lost" != 0 ] && break
	sleep 0.1
done
[ "$lost" != 0 ] || bad "no lost events in the capture after the CLI read again"
kill -USR2 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || bad "the target did not print its truth"
kill -INT "$mpid"
wait_gone "$mpid" 60
rc=$wrc
kill -USR1 "$tpid"
wait_gone "$tpid" 30
ma_show "target stdout" "$ma_tmp/out"
ma_show "memattach stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || bad "memattach exited $rc (want 0: the session goes on past a stall)"
[ "$wrc" = 0 ] || bad "the target exited $wrc"

"$MEMATTACH" report stats --json "$cap" >"$ma_tmp/st.json" 2>"$ma_tmp/rerr" || bad "report stats --json"
"$MEMATTACH" report stats "$cap" >"$ma_tmp/st.txt" 2>>"$ma_tmp/rerr" || bad "report stats"
"$MEMATTACH" report summary "$cap" >"$ma_tmp/sum.txt" 2>>"$ma_tmp/rerr" || bad "report summary"
"$MEMATTACH" report tree "$cap" >"$ma_tmp/tree.txt" 2>>"$ma_tmp/rerr" || bad "report tree"
ma_show "report stderr" "$ma_tmp/rerr"
for f in st.txt sum.txt tree.txt rerr; do
	grep -q 'events lost between [0-9.]* s and [0-9.]* s' "$ma_tmp/$f" ||
		bad "$f does not say that events were lost"
done
grep -q '^Allocations: .* \*$' "$ma_tmp/st.txt" || bad "stats does not mark the totals"
sed -n '/^\* /p;/^Allocations/,/^Live/p' "$ma_tmp/st.txt"

"$PYTHON" - "$ma_tmp/out" "$ma_tmp/st.json" "$LIMIT_MS" <<'EOF' || fail=1
import json, re, sys
out = open(sys.argv[1]).read()
truth = [json.loads(l) for l in out.splitlines() if l.startswith("{")][-1]
longest = int(re.search(r"longest_wait_ns=(\d+)", out).group(1))
r = json.load(open(sys.argv[2]))
lost = r["events_lost"]
limit_ns = int(sys.argv[3]) * 1000000
ok = True
def check(what, got, want):
    global ok
    print(f"  {what}: capture {got}, target {want}")
    if got != want:
        print(f"FAIL: {what} differ")
        ok = False
check("allocations (tracked + lost)", r["total_allocations"] + lost["allocations"], truth["total_allocations"])
check("bytes (tracked + lost)", r["total_bytes_allocated"] + lost["allocation_bytes"], truth["total_bytes_allocated"])
# A free of a lost allocation is an untracked free (nothing was live
# before); a block whose free was lost is freed implicitly when its address
# comes back: that free is the lost one, not another.
check("frees (tracked - implicit + untracked + lost)",
      r["total_frees"] - r["implicit_frees"] + r["untracked_frees"] + lost["frees"],
      truth["total_frees"])
t = [x for x in r["threads"] if x["lost_allocations"] or x["lost_frees"]]
check("per-thread lost allocations", sum(x["lost_allocations"] for x in t), lost["allocations"])
print(f"  lost: {lost['events']} events, {lost['first_ns'] / 1e9:.3f}-{lost['last_ns'] / 1e9:.3f} s")
if lost["events"] < 200000:
    print("FAIL: fewer events lost than the target made with the CLI stopped")
    ok = False
# The bound is the limit plus the wake-up of a thread whose timed wait
# ended (a loaded machine adds scheduling delay, not a second limit).
print(f"  longest allocator call of the target: {longest / 1e6:.1f} ms (limit {limit_ns / 1e6:.0f} ms)")
if longest > limit_ns + 400000000:
    print("FAIL: a call waited far longer than the stall limit")
    ok = False
sys.exit(0 if ok else 1)
EOF
[ $fail = 0 ] && echo "PASS: stall-drop"
exit $fail

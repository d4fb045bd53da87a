#!/bin/bash
# cli-stalled.sh — with --on-stall end, a CLI that stops reading (SIGSTOP,
# a hung terminal) ends the session: back-pressure is bounded, the agent
# gives up the session after the limit (2 s here), the target goes on at
# full speed, and a later attach works.  (The default, dropping events, is
# stall-drop.sh.)
set -u
top=${top_builddir:-.}
ma="$top/memattach"
tmp=$(mktemp -d)
fail=0
trap 'kill -9 $sp $mp 2>/dev/null; rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; fail=1; }

"$top/tests/threshold/spinner" > "$tmp/out" &
sp=$!
for _ in $(seq 100); do grep -q ready "$tmp/out" && break; sleep 0.05; done
nthreads() { ls "/proc/$sp/task" | wc -l; }
before=$(nthreads)
: > "$tmp/err"
"$ma" --pid "$sp" --on-stall end --stall-limit 2s -o "$tmp/cap.memcap" 2> "$tmp/err" &
mp=$!
# stopped once tracking (not in the middle of the attach)
for _ in $(seq 600); do grep -q 'tracking pid' "$tmp/err" && break; sleep 0.05; done
grep -q 'tracking pid' "$tmp/err" || bad "memattach was not tracking after 30 s: $(cat "$tmp/err")"
kill -STOP $mp
t0=$(date +%s.%N)
# the agent gives up after the 2 s limit: its thread ends (60 s at most)
for _ in $(seq 1200); do [ "$(nthreads)" = "$before" ] && break; sleep 0.05; done
[ "$(nthreads)" = "$before" ] || bad "the agent's thread was still there 60 s after the CLI stopped"
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "the agent gave up %.2f s after the CLI stopped (limit 2 s, counted from when the socket filled)\n", b - a }'
a=$(tail -n 1 "$tmp/out"); sleep 1; b=$(tail -n 1 "$tmp/out")
echo "while the CLI is stopped: $a -> $b allocations in 1 s"
[ "$b" -gt "$((a + 100000))" ] 2>/dev/null || bad "the target did not go on while the CLI was stopped ($a -> $b)"
kill -CONT $mp
kill -INT $mp
wait $mp
rc=$?
[ $rc = 16 ] || bad "memattach exit $rc after its agent gave up, want 16 ($(cat "$tmp/err"))"
"$ma" --pid "$sp" --duration 0.3 -q -o "$tmp/again.memcap" 2> "$tmp/err2"
rc=$?
[ $rc = 0 ] || bad "attach after the stall: exit $rc ($(cat "$tmp/err2"))"
"$ma" report stats --json "$tmp/again.memcap" > "$tmp/st.json" || bad "report on the new capture"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d['total_allocations'] > 1000 else 1)" "$tmp/st.json" \
	|| bad "the new capture holds no allocations"
[ $fail = 0 ] && echo "PASS: cli-stalled"
exit $fail

#!/bin/bash
# threshold.sh — --dump-on-threshold against a target whose growth is known:
# 1,000,000 B every 50 ms, or 30 blocks at once, from grow_cache().  Checks
# the snapshot's top holder and bytes exactly, the exit codes for a line
# never reached, bad sizes and a target that exits.
set -u
top=${top_builddir:-.}
ma="$top/memattach"
g="$top/tests/threshold/grower"
tmp=$(mktemp -d)
fail=0
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; fail=1; }

start_grower() {   # args: step period max
	: > "$tmp/g.out"   # the last grower's "ready" must not end the wait below
	"$g" "$@" > "$tmp/g.out" &
	gp=$!
	for _ in $(seq 100); do grep -q ready "$tmp/g.out" && return; sleep 0.05; done
	bad "grower did not start"
}

# check_heap_snapshot NAME — the snapshot of a 10MB heap threshold holds
# exactly the 10 blocks of grow_cache that reached the line, whatever came
# after them: the live set is frozen at the crossing allocation.
check_heap_snapshot() {
	local n=$1
	"$ma" report stats --json "$tmp/$n.memcap" > "$tmp/$n.json" || { bad "$n: stats on the snapshot"; return; }
	python3 - "$n" "$tmp/$n.json" "$tmp/$n.txt" "$tmp/$n.err" <<'PY' || fail=1
import json, re, sys
name = sys.argv[1]
st = json.load(open(sys.argv[2]))
summary = open(sys.argv[3]).read()
err = open(sys.argv[4]).read()
ok = True
def check(what, got, want):
    global ok
    if got != want:
        print(f"FAIL: {name}: {what}: got {got!r}, want {want!r}")
        ok = False
check("live bytes in the snapshot", st["leaked_bytes"], 10_000_000)
check("live blocks in the snapshot", st["leaked_allocations"], 10)
rows = [l for l in summary.splitlines() if "grow_cache" in l]
if not rows or "10,000,000" not in rows[0]:
    print(f"FAIL: {name}: summary does not name grow_cache with 10,000,000 B:\n" + summary)
    ok = False
first = [l for l in summary.splitlines() if re.match(r"\s+[\d,]+\s+[\d.]+%", l)]
if not first or "grow_cache" not in first[0]:
    print(f"FAIL: {name}: grow_cache is not the top holder:\n" + summary)
    ok = False
if "reached 10000000 B" not in err or "live set as of the crossing allocation" not in err:
    print(f"FAIL: {name}: the crossing line does not say 10000000 B at the crossing allocation:\n" + err)
    ok = False
sys.exit(0 if ok else 1)
PY
	[ -s "$tmp/$n.html" ] && grep -q grow_cache "$tmp/$n.html" || bad "$n: flame graph beside the snapshot"
}

# 1. heap threshold: 10 MB = exactly 10 blocks of grow_cache, one every 50 ms
start_grower 1000000 50
"$ma" --pid "$gp" --dump-on-threshold 10MB --threshold-on heap -o "$tmp/heap.memcap" \
	> "$tmp/heap.txt" 2> "$tmp/heap.err"
rc=$?
kill $gp; wait $gp 2>/dev/null
[ $rc = 0 ] || bad "heap threshold: exit $rc: $(cat "$tmp/heap.err")"
check_heap_snapshot heap

# 1b. the same line crossed in a burst of 30 blocks, all in one batch of
# the agent's: the snapshot still holds the 10 that reached it
start_grower 1000000 0 30
"$ma" --pid "$gp" --dump-on-threshold 10MB --threshold-on heap -o "$tmp/burst.memcap" \
	> "$tmp/burst.txt" 2> "$tmp/burst.err" &
mp=$!
for _ in $(seq 600); do grep -q "memattach: watching pid" "$tmp/burst.err" && break; sleep 0.05; done
grep -q "memattach: watching pid" "$tmp/burst.err" || bad "burst: memattach did not attach: $(cat "$tmp/burst.err")"
kill -USR2 $gp
wait $mp
rc=$?
kill $gp; wait $gp 2>/dev/null
[ $rc = 0 ] || bad "burst threshold: exit $rc: $(cat "$tmp/burst.err")"
check_heap_snapshot burst

# 2. RSS threshold: the snapshot names grow_cache; not attributed is shown
start_grower 1000000 50
"$ma" --pid "$gp" --dump-on-threshold 20MB -o "$tmp/rss.memcap" > "$tmp/rss.txt" 2>&1
rc=$?
kill $gp; wait $gp 2>/dev/null
[ $rc = 0 ] || bad "rss threshold: exit $rc"
grep -q "not attributed" "$tmp/rss.txt" || bad "rss: no 'not attributed' line"
grep -q "grow_cache" "$tmp/rss.txt" || bad "rss: grow_cache not in the summary"

# 3. never reached within the duration: exit 14 and the highest value seen
start_grower 1000 50
"$ma" --pid "$gp" --dump-on-threshold 1GB --duration 0.5 -o "$tmp/never.memcap" 2> "$tmp/never.txt"
rc=$?
kill $gp; wait $gp 2>/dev/null
[ $rc = 14 ] || bad "never reached: exit $rc, want 14"
grep -q "highest seen" "$tmp/never.txt" || bad "never reached: no highest value"
[ ! -e "$tmp/never.memcap" ] || bad "never reached: a snapshot was written"

# 4. the target exits while waiting: exit 13
start_grower 1000 20 25
"$ma" --pid "$gp" --dump-on-threshold 1GB -o "$tmp/gone.memcap" 2> "$tmp/gone.txt"
rc=$?
wait $gp 2>/dev/null
[ $rc = 13 ] || bad "target exited: exit $rc, want 13 ($(cat "$tmp/gone.txt"))"

# 5. bad sizes: exit 2 before anything attaches
start_grower 1000 50
for s in 10XB -5MB MB "" 0; do
	"$ma" --pid "$gp" --dump-on-threshold "$s" -o "$tmp/x.memcap" 2> "$tmp/bad.txt"
	rc=$?
	[ $rc = 2 ] || bad "size '$s': exit $rc, want 2"
	[ "$(wc -l < "$tmp/bad.txt")" = 1 ] || bad "size '$s': not one line: $(cat "$tmp/bad.txt")"
done
grep -q libmemattach-agent "/proc/$gp/maps" && bad "bad size: the agent was loaded anyway"
kill $gp; wait $gp 2>/dev/null

[ $fail = 0 ] && echo "PASS: threshold"
exit $fail

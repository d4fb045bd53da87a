#!/bin/bash
# threshold.sh — --dump-on-threshold against a target whose growth is known:
# 1,000,000 B every 50 ms from grow_cache().  Checks the snapshot's top
# holder and bytes exactly, the delay between crossing and dump, the exit
# codes for a line never reached, bad sizes and a target that exits.
set -u
top=${top_builddir:-.}
ma="$top/memattach"
g="$top/tests/threshold/grower"
tmp=$(mktemp -d)
fail=0
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
bad() { echo "FAIL: $*"; fail=1; }

start_grower() {   # args: step period max
	"$g" "$@" > "$tmp/g.out" &
	gp=$!
	for _ in $(seq 100); do grep -q ready "$tmp/g.out" && return; sleep 0.05; done
	bad "grower did not start"
}

# 1. heap threshold: 10 MB = exactly 10 blocks of grow_cache
start_grower 1000000 50
"$ma" --pid "$gp" --dump-on-threshold 10MB --threshold-on heap -o "$tmp/snap.memcap" \
	> "$tmp/summary.txt" 2> "$tmp/err.txt"
rc=$?
kill $gp; wait $gp 2>/dev/null
[ $rc = 0 ] || bad "heap threshold: exit $rc: $(cat "$tmp/err.txt")"
"$ma" report stats --json "$tmp/snap.memcap" > "$tmp/stats.json" || bad "stats on the snapshot"
python3 - "$tmp/stats.json" "$tmp/summary.txt" "$tmp/err.txt" <<'PY' || fail=1
import json, re, sys
st = json.load(open(sys.argv[1]))
summary = open(sys.argv[2]).read()
err = open(sys.argv[3]).read()
ok = True
def check(what, got, want):
    global ok
    if got != want:
        print(f"FAIL: {what}: got {got!r}, want {want!r}")
        ok = False
# The tick after the 10th block sees exactly 10,000,000 B (blocks come
# 50 ms apart, ticks every 10 ms).
check("live bytes in the snapshot", st["leaked_bytes"], 10_000_000)
check("live blocks in the snapshot", st["leaked_allocations"], 10)
rows = [l for l in summary.splitlines() if "grow_cache" in l]
if not rows or "10,000,000" not in rows[0]:
    print("FAIL: summary does not name grow_cache with 10,000,000 B:\n" + summary)
    ok = False
first = [l for l in summary.splitlines() if re.match(r"\s+[\d,]+\s+[\d.]+%", l)]
if not first or "grow_cache" not in first[0]:
    print("FAIL: grow_cache is not the top holder:\n" + summary)
    ok = False
m = re.search(r"live set taken ([\d.]+) ms after the crossing", err)
if not m:
    print("FAIL: no delay reported:\n" + err); ok = False
elif float(m.group(1)) > 200:
    print(f"FAIL: dump {m.group(1)} ms after the crossing (limit 200)"); ok = False
else:
    print(f"dump delay {m.group(1)} ms")
sys.exit(0 if ok else 1)
PY
[ -s "$tmp/snap.html" ] && grep -q grow_cache "$tmp/snap.html" || bad "flame graph beside the snapshot"

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

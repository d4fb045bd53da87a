#!/bin/bash
# every.sh — --every with --sample 64KiB (fixed seed): a target that, once
# memattach watches it, leaks 512 blocks of 64 KiB from grow_here() and says
# so.  A periodic snapshot holds everything done before it was due, so the
# second one written after the target's line holds the whole leak: its
# estimate of the live heap within 4 standard deviations of 32 MiB, marked
# sampled in the file (stats "sampled") and on the line (~, "estimates"),
# grow_here first, and the exact counts (ThreadCounts) exactly 512 mallocs.
set -u
top=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
ma="$top/memattach"
tmp=$(mktemp -d)
tp= mp=
trap '[ -n "$tp" ] && kill $tp 2>/dev/null; [ -n "$mp" ] && kill $mp 2>/dev/null; rm -rf "$tmp"' EXIT
export MEMATTACH_SAMPLE_SEED=7 MEMATTACH_STALL_LIMIT=60s
grow=$((32 * 1024 * 1024))
"$top/tests/sample/sampled" grow $grow > "$tmp/target.out" &
tp=$!
for _ in $(seq 200); do grep -q ready "$tmp/target.out" && break; sleep 0.05; done
grep -q ready "$tmp/target.out" || { echo "FAIL: the target did not start"; exit 1; }
mkdir "$tmp/snaps"
"$ma" --pid $tp --sample 64KiB --every 200ms -o "$tmp/snaps" 2> "$tmp/err.txt" &
mp=$!
nsnaps() { grep -c '^memattach: snapshot ' "$tmp/err.txt"; }
# wait_snaps N: until N snapshot lines are on stderr (60 s at most)
wait_snaps() {
	for _ in $(seq 1200); do
		[ "$(nsnaps)" -ge "$1" ] && return 0
		kill -0 $mp 2>/dev/null || break
		sleep 0.05
	done
	echo "FAIL: waited for snapshot $1"; sed 's/^/    /' "$tmp/err.txt"; exit 1
}
wait_snaps 1
kill -USR1 $tp
for _ in $(seq 1200); do grep -q grown "$tmp/target.out" && break; sleep 0.05; done
grep -q grown "$tmp/target.out" || { echo "FAIL: the target did not grow"; exit 1; }
after=$(( $(nsnaps) + 2 ))
wait_snaps $after
kill -INT $mp
wait $mp
rc=$?; mp=
kill -TERM $tp; wait $tp 2>/dev/null; tp=
sed 's/^/    /' "$tmp/err.txt"
[ $rc = 0 ] || { echo "FAIL: memattach exited $rc"; exit 1; }
line=$(grep "^memattach: snapshot $after at " "$tmp/err.txt")
snap=${line##*: }
"$ma" report stats --json "$snap" > "$tmp/stats.json" || { echo "FAIL: stats on $snap"; exit 1; }
"$ma" report summary --json "$snap" > "$tmp/summary.json" || { echo "FAIL: summary on $snap"; exit 1; }
PYTHONPATH="$here" python3 - "$tmp" $grow "$line" <<'PY'
import json, re, sys
from theory import sd_bytes, within
d, grow, line = sys.argv[1], int(sys.argv[2]), sys.argv[3]
st = json.load(open(d + "/stats.json"))
summ = json.load(open(d + "/summary.json"))
S, B = 65536, 65536
ok = True
sm = st["sampled"] or {}
if sm.get("interval") != S or sm.get("seed") != 7:
    print("FAIL: the snapshot is not marked sampled (interval, seed): %r" % sm); ok = False
m = re.search(r"tracked heap ~(\d+) B = .*; estimates from (\d+) samples \(--sample 64(\.0)? KiB\): ", line)
if not m:
    print("FAIL: the snapshot line does not mark its heap as an estimate: %s" % line); sys.exit(1)
if int(m.group(1)) != st["leaked_bytes"]:
    print("FAIL: the line says %s B, the file holds %d B" % (m.group(1), st["leaked_bytes"])); ok = False
ok &= within("live heap of the snapshot", st["leaked_bytes"], grow, sd_bytes(grow // B, B, S))
top = summ["top"][0] if summ["top"] else {}
if top.get("function") != "grow_here":
    print("FAIL: the top holder is %r, not grow_here" % top.get("function")); ok = False
ex = sm.get("exact") or {}
want = {"total_allocations": grow // B, "total_bytes_allocated": grow, "total_frees": 0}
if ex != want:
    print("FAIL: exact counts %r, want %r" % (ex, want)); ok = False
print("PASS: --every with --sample" if ok else "FAIL: --every with --sample")
sys.exit(0 if ok else 1)
PY

#!/bin/bash
# threshold.sh — --dump-on-threshold with --sample 64KiB (RSS trigger): a
# target that, once memattach watches it, grows by 64 KiB blocks from
# grow_here() up to 64 MiB.  memattach must dump at the crossing of 40MB:
# exit 0, a snapshot naming grow_here first whose estimate of the live heap
# is between what the crossing implies and what the target ever held
# (4 standard deviations of sampling either side), marked as sampled, with
# the exact counts of the allocations made up to the crossing.
set -u
top=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
ma="$top/memattach"
tmp=$(mktemp -d)
tp= mp=
trap '[ -n "$tp" ] && kill $tp 2>/dev/null; [ -n "$mp" ] && kill $mp 2>/dev/null; rm -rf "$tmp"' EXIT
export MEMATTACH_SAMPLE_SEED=11
grow=$((64 * 1024 * 1024))
"$top/tests/sample/sampled" grow $grow > "$tmp/target.out" &
tp=$!
for _ in $(seq 200); do grep -q ready "$tmp/target.out" && break; sleep 0.05; done
grep -q ready "$tmp/target.out" || { echo "FAIL: the target did not start"; exit 1; }
"$ma" --pid $tp --sample 64KiB --dump-on-threshold 40MB -o "$tmp/snap.cap" \
	> "$tmp/summary.txt" 2> "$tmp/err.txt" &
mp=$!
# the target grows once memattach watches it (its line says so)
for _ in $(seq 600); do grep -q "memattach: watching pid" "$tmp/err.txt" && break; sleep 0.05; done
grep -q "memattach: watching pid" "$tmp/err.txt" || { echo "FAIL: memattach did not attach"; cat "$tmp/err.txt"; exit 1; }
kill -USR1 $tp
wait $mp
rc=$?; mp=
kill -TERM $tp; wait $tp 2>/dev/null; tp=
sed 's/^/    /' "$tmp/err.txt"
[ $rc = 0 ] || { echo "FAIL: memattach exited $rc"; exit 1; }
"$ma" report stats --json "$tmp/snap.cap" > "$tmp/stats.json" || { echo "FAIL: stats on the snapshot"; exit 1; }
"$ma" report summary --json "$tmp/snap.cap" > "$tmp/summary.json" || { echo "FAIL: summary on the snapshot"; exit 1; }
PYTHONPATH="$here" python3 - "$tmp" $grow <<'PY'
import json, re, sys
from theory import sd_bytes
d, grow = sys.argv[1], int(sys.argv[2])
st = json.load(open(d + "/stats.json"))
summ = json.load(open(d + "/summary.json"))
err = open(d + "/err.txt").read()
ok = True
S, B, T = 65536, 65536, 40_000_000
if "~ Sampled: estimated from" not in open(d + "/summary.txt").read():
    print("FAIL: the printed top holders do not say they are estimates"); ok = False
if (st["sampled"] or {}).get("interval") != S:
    print("FAIL: the snapshot is not marked sampled: %r" % st["sampled"]); ok = False
m = re.search(r"RSS reached (\d+) B .* live set taken ([\d.]+) ms after the crossing", err)
if not m:
    print("FAIL: no crossing line"); sys.exit(1)
rss = int(m.group(1))
if rss < T:
    print("FAIL: dumped at RSS %d, below the threshold" % rss); ok = False
# How late the live set was taken depends on the machine's load, not on
# the product: the bounds below are what the snapshot must hold.
print("live set taken %s ms after the crossing" % m.group(2))
top = summ["top"][0] if summ["top"] else {}
if top.get("function") != "grow_here":
    print("FAIL: the top holder is %r, not grow_here" % top.get("function")); ok = False
# the blocks live at the crossing: at least what RSS grew by since the
# attach, less 8 MiB for the agent's own memory; at most all of them
sd = sd_bytes(grow // B, B, S)
lo = rss - st["rss_at_start"] - (8 << 20) - 4 * sd
hi = grow + 4 * sd
est = st["leaked_bytes"]
print("estimate %d, bounds [%d, %d], rss %d, rss at attach %d" % (est, lo, hi, rss, st["rss_at_start"]))
if not lo <= est <= hi:
    print("FAIL: the snapshot's live heap is out of bounds"); ok = False
# the exact counts (ThreadCounts) are in the snapshot too: since the attach
# the target made only 64 KiB mallocs, as many as the crossing implies
ex = (st["sampled"] or {}).get("exact") or {}
n = ex.get("total_allocations", 0)
print("exact counts in the snapshot: %r" % ex)
if not (rss - st["rss_at_start"] - (8 << 20)) // B <= n <= grow // B:
    print("FAIL: the snapshot's exact allocation count %d is out of bounds" % n); ok = False
if ex.get("total_bytes_allocated") != n * B or ex.get("total_frees") != 0:
    print("FAIL: the snapshot's exact bytes/frees are not those of %d 64 KiB mallocs" % n); ok = False
print("PASS: threshold with --sample" if ok else "FAIL: threshold with --sample")
sys.exit(0 if ok else 1)
PY

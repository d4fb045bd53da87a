#!/bin/bash
# mix.sh — --sample 64KiB on allocations of 8 B, 64 B ... 1 MiB (16 MiB
# allocated and freed per size, one block of each left): per size class
# (stats --json histogram) the estimated allocations and bytes are within
# 4 standard deviations of the truth, the deviations derived from the
# number of allocations and the sampling probability (theory.py).  Fixed
# seed: one fixed draw.  Also the exact counts, and that a size class far
# above the interval is exact.
set -u
top=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
ma="$top/memattach"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MEMATTACH_SAMPLE_SEED=7
"$ma" run -q --sample 64KiB -o "$tmp/mix.cap" -- "$top/tests/sample/sampled" mix > "$tmp/truth.json" \
	|| { echo "FAIL: memattach run exited $?"; exit 1; }
"$ma" report stats --json "$tmp/mix.cap" > "$tmp/stats.json" || { echo "FAIL: stats"; exit 1; }
PYTHONPATH="$here" python3 - "$tmp" <<'PY'
import json, sys
from theory import within, sd_bytes, sd_blocks, p_sampled
d = sys.argv[1]
classes = json.load(open(d + "/truth.json"))["classes"]
st = json.load(open(d + "/stats.json"))
S = 65536
ok = True
hist = st["histogram"]
for size, count in classes:
    b = [h for h in hist if h["min"] <= size <= h["max"]]
    if not b:
        print("FAIL size %d: no histogram bucket" % size)
        ok = False
        continue
    b = b[0]
    samples = count * p_sampled(size, S)
    ok &= within("%7d B x %8d: bytes " % (size, count), b["bytes"], size * count,
                 sd_bytes(count, size, S), 0.5 * samples + 1)
    ok &= within("%7d B x %8d: blocks" % (size, count), b["count"], count,
                 sd_blocks(count, size, S), 1)
# 1 MiB blocks at 64 KiB: p = 1 - e^-16, every one is sampled and exact
big = [h for h in hist if h["min"] <= 1 << 20 <= h["max"]][0]
if big["bytes"] != (1 << 20) * classes[-1][1]:
    print("FAIL: 1 MiB blocks not exact: %d" % big["bytes"])
    ok = False
ex = st["sampled"]["exact"]
want = sum(c for _, c in classes)
if ex["total_allocations"] != want or ex["total_frees"] != want - len(classes):
    print("FAIL exact counts: %r, want %d allocations, %d frees" % (ex, want, want - len(classes)))
    ok = False
print("PASS: mix" if ok else "FAIL: mix")
sys.exit(0 if ok else 1)
PY

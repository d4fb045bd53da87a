#!/bin/bash
# tracker.sh — Tracker(sample="64KiB") from Python, seed fixed: a function
# that keeps 20,000 bytearrays of 4,000 bytes (80 MB and their headers) is
# named first, its estimate within 4 standard deviations, the capture
# marked sampled; a bad sample= is a ValueError before anything starts;
# stats() marks its estimates and gives the exact counts (sampled).
set -u
top=${top_builddir:-.}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[ -x $py ] || { echo "SKIP: no /usr/bin/python3"; exit 77; }
export MEMATTACH_SAMPLE_SEED=5 MEMATTACH_BIN="$top/memattach" PYTHONPATH="$here/../../python:$here"
cat > "$tmp/prog.py" <<'PY'
import sys
from memattach import Tracker
for bad in (0, "1TiB", "12 parsecs"):
    try:
        Tracker(sys.argv[1] + ".bad", sample=bad)
        print("FAIL: sample=%r accepted" % (bad,)); sys.exit(1)
    except ValueError:
        pass
keep = []
def keep_blocks():
    for _ in range(20000):
        keep.append(bytearray(4000))
def bad(msg):
    print("FAIL: " + msg); sys.exit(1)
with Tracker(sys.argv[1], sample="64KiB") as t:
    keep_blocks()
    st = t.stats()
# stats() marks its estimates as `report stats --json` does, with the exact
# counts: at least the 20,000 mallocs of 4,001 bytes (and Python's own)
sm = st.sampled or {}
ex = sm.get("exact") or {}
print("stats().sampled:", sm)
if sm.get("interval") != 65536 or "total_bytes_allocated" not in sm.get("estimated", []):
    bad("stats() does not mark its estimates: %r" % (st.sampled,))
if not (20000 <= ex.get("total_allocations", 0) and 20000 * 4001 <= ex.get("total_bytes_allocated", 0)
        and ex.get("total_frees", -1) >= 0):
    bad("stats() exact counts %r" % (ex,))
fin = t.stats()
if (fin.sampled or {}).get("exact", {}).get("total_allocations", 0) < ex["total_allocations"]:
    bad("the final stats lost the exact counts: %r" % (fin.sampled,))
# an int is bytes; without sample= stats() says nothing is estimated
with Tracker(sys.argv[1] + ".int", sample=65536) as t:
    if (t.stats().sampled or {}).get("interval") != 65536:
        bad("sample=65536 (int) is not an interval of 65536 B")
with Tracker(sys.argv[1] + ".exact") as t:
    if t.stats().sampled is not None:
        bad("an exact Tracker's stats().sampled is %r, not None" % (t.stats().sampled,))
PY
$py "$tmp/prog.py" "$tmp/t.cap" || { echo "FAIL: the program failed"; exit 1; }
"$top/memattach" report summary --leaks --json "$tmp/t.cap" > "$tmp/s.json" || { echo "FAIL: summary"; exit 1; }
$py - "$tmp/s.json" <<'PY'
import json, sys
from theory import within, sd_bytes
s = json.load(open(sys.argv[1]))
ok = (s["sampled"] or {}).get("interval") == 65536
if not ok:
    print("FAIL: not marked sampled: %r" % s["sampled"])
top = s["top"][0]
if top["function"] != "keep_blocks":
    print("FAIL: first location %r" % top["function"]); ok = False
# a bytearray of 4000 is one block of 4001 bytes (its buffer, NUL ended);
# the 56-byte objects come from pymalloc's arenas (256 KiB mmaps, exact)
# and the list's buffer: the bound allows the objects' arenas on top
n, size = 20000, 4001
arenas = 20000 * 56 + 256 * 1024 * 8
ok &= within("keep_blocks", top["own_bytes"], n * size, sd_bytes(n, size, 65536), arenas)
print("PASS: tracker" if ok else "FAIL: tracker")
sys.exit(0 if ok else 1)
PY

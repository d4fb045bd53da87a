"""check.py TARGET_STDOUT PYEVENTS_OUTPUT [KIND_PREFIX] — compares the truth a Python
script printed (TRUTH size count frames) with the allocations pyevents
found in the capture: for each size, exactly `count` allocations per
expected frame prefix, and no other allocation of that size (and, given KIND_PREFIX, every one
of those allocations of a kind named so, e.g. pymem_)."""
import sys
from collections import defaultdict

truths = defaultdict(list)
reused = []
for line in open(sys.argv[1]):
    if line.startswith("TRUTH "):
        _, size, count, frames = line.rstrip("\n").split(" ", 3)
        truths[int(size)].append((int(count), frames.split("|")))
    elif line.startswith("REUSED "):
        reused.append(int(line.split()[1]))

events = defaultdict(list)
bad = 0
for line in open(sys.argv[2]):
    size, tid, py, _mixed, kind = line.rstrip("\n").split("\t")
    if int(size) in truths and len(sys.argv) > 3 and not kind.startswith(sys.argv[3]):
        print("FAIL: size %s allocated as %s, expected %s*" % (size, kind, sys.argv[3]))
        bad += 1
    events[int(size)].append(py.split("|"))

if not truths:
    print("FAIL: the script printed no truth")
    bad += 1
for size, exp in sorted(truths.items()):
    got = events.get(size, [])
    want_total = sum(c for c, _ in exp)
    for count, prefix in exp:
        n = sum(1 for g in got if g[:len(prefix)] == prefix)
        if count < 0:   # at least one, and every one of that size matches
            if n == 0 or n != len(got):
                bad += 1
                print("FAIL: size %d: %d of %d allocations under %s, expected all and >= 1"
                      % (size, n, len(got), " < ".join(prefix)))
            continue
        if n != count:
            bad += 1
            print("FAIL: size %d: %d allocations under %s, expected %d" % (size, n, " < ".join(prefix), count))
            for g in got[:3]:
                print("      got: %s" % " < ".join(g[:len(prefix) + 1]))
    if want_total >= 0 and len(got) != want_total:
        bad += 1
        print("FAIL: size %d: %d allocations with Python frames, expected %d" % (size, len(got), want_total))
for r in reused:
    print("code object addresses reused: %d" % r)
    if r == 0:
        print("FAIL: a loop of new functions never reused a code object's address: the test proves nothing")
        bad += 1
print("%s: %d sizes checked" % ("FAIL" if bad else "ok", len(truths)))
sys.exit(1 if bad else 0)

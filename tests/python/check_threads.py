"""check_threads.py TARGET_STDOUT THREADS [EVENTS MEMATTACH CAPTURE] — the
threads a script named (THREADNAME tid bytes name) against the capture.
THREADS is `pyevents --threads` output: each tid must carry exactly its
name.  Alone, that is all (silent: the test polls a capture being written
with it).  With EVENTS (pyevents output), MEMATTACH and CAPTURE: exactly
one allocation of each size, made by its tid; the report shows the name
for the tid; and `report stats --thread NAME` selects that allocation."""
import json
import subprocess
import sys

want = []
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("THREADNAME "):
        _, tid, size, name = line.rstrip("\n").split(" ", 3)
        want.append((int(tid), int(size), name))
names = {}
for line in open(sys.argv[2], encoding="utf-8"):
    tid, name = line.rstrip("\n").split("\t", 1)
    names[int(tid)] = name
full = len(sys.argv) > 3
bad = 0 if want else 1
if full and not want:
    print("FAIL: the script named no thread")


def fail(msg):
    global bad
    bad += 1
    if full:
        print("FAIL: " + msg)


for tid, size, name in want:
    if names.get(tid) != name:
        fail("thread %d is named %r in the capture, expected %r" % (tid, names.get(tid), name))
if not full:
    sys.exit(1 if bad else 0)

by_size = {}
for line in open(sys.argv[3], encoding="utf-8"):
    size, tid = line.split("\t")[:2]
    by_size.setdefault(int(size), []).append(int(tid))
memattach, cap = sys.argv[4], sys.argv[5]


def stats(*args):
    out = subprocess.run([memattach, "report", "stats", "--json", *args, cap],
                         stdout=subprocess.PIPE, check=True).stdout
    return json.loads(out.decode("utf-8"))


shown = {t["tid"]: t["name"] for t in stats()["threads"]}
for tid, size, name in want:
    got = by_size.get(size, [])
    if got != [tid]:
        fail("%d-byte allocations made by threads %s, expected one by %d (%s)" % (size, got, tid, name))
    if shown.get(tid) != name:
        fail("report stats shows thread %d as %r, expected %r" % (tid, shown.get(tid), name))
    # the filter by name: that thread's one big allocation, nothing else
    s = stats("--total", "--min-size", "3000000", "--thread", name)
    if (s["total_allocations"], s["total_bytes_allocated"]) != (1, size):
        fail("--thread %r selects %d allocations of %d bytes, expected 1 of %d"
             % (name, s["total_allocations"], s["total_bytes_allocated"], size))
print("%s: %d threads checked" % ("FAIL" if bad else "ok", len(want)))
sys.exit(1 if bad else 0)

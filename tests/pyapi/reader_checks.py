# The reader API (FileReader, top_locations, stats_from) on a capture with
# known allocations: keep_one keeps one 7,000,000-byte bytearray (7,000,001
# bytes: the buffer and its NUL), keep_three three of 2,000,000, and
# temporary makes and frees one of 9,000,000 after them (the peak).
# argv[1]: a scratch directory.
import json
import os
import subprocess
import sys

from memattach import FileReader, Tracker, stats_from, top_locations

tmp = sys.argv[1]
failed = 0
kept = []


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


def keep_one():
    kept.append(bytearray(7_000_000))  # line ONE


def keep_three():
    for _ in range(3):
        kept.append(bytearray(2_000_000))  # line THREE


def temporary():
    t = bytearray(9_000_000)  # line TEMP
    del t


src = open(__file__).read().splitlines()
line = {k: next(i + 1 for i, l in enumerate(src) if l.endswith("# line " + k)) for k in ("ONE", "THREE", "TEMP")}
path = os.path.join(tmp, "reader.memcap")
with Tracker(path, overwrite=True) as tracker:
    keep_one()
    keep_three()
    temporary()
r = FileReader(path)


def row(loc):
    return (loc.function, os.path.basename(loc.where), loc.own_bytes, loc.own_count)


def want(func, key, nbytes, count):
    return (func, "reader_checks.py:%d" % line[key], nbytes, count)


got = [row(l) for l in r.top_locations(2, memory="leaks")]
check(got == [want("keep_one", "ONE", 7_000_001, 1), want("keep_three", "THREE", 6_000_003, 3)],
      "leaks: keep_one 7,000,001 B in 1, keep_three 6,000,003 B in 3: %r" % got)
got = [row(l) for l in top_locations(path, 3, memory="peak")]
check(got == [want("temporary", "TEMP", 9_000_001, 1), want("keep_one", "ONE", 7_000_001, 1),
              want("keep_three", "THREE", 6_000_003, 3)], "peak: temporary's 9,000,001 B first: %r" % got)
got = [row(l) for l in r.top_locations(3, memory="total")]
check(got == [want("temporary", "TEMP", 9_000_001, 1), want("keep_one", "ONE", 7_000_001, 1),
              want("keep_three", "THREE", 6_000_003, 3)], "total: the same three: %r" % got)
got = r.top_locations(4, memory="total", sort="total")
tot = [l.total_bytes for l in got]
check(tot == sorted(tot, reverse=True) and ("temporary", 9_000_001) in [(l.function, l.total_bytes) for l in got],
      "total, sorted by total: descending, temporary's 9,000,001 B among them: %r" % tot)

# the same rows as the CLI's summary --json, field for field
cli = json.loads(subprocess.run([os.environ["MEMATTACH_BIN"], "report", "summary", "--json", "--leaks", "--max",
                                 "5", path], stdout=subprocess.PIPE, check=True).stdout)["top"]
mine = [l._asdict() for l in r.top_locations(5, memory="leaks")]
check([{k: c[k] for k in mine[0]} for c in cli] == mine, "the rows are report summary --json's (%d rows)" % len(mine))

s, fin = r.stats, tracker.stats()
for k in ("current_memory", "peak_memory", "total_allocations", "total_frees", "total_bytes_allocated",
          "leaked_bytes"):
    check(getattr(s, k) == getattr(fin, k) == getattr(stats_from(path), k),
          "FileReader.stats.%s %r == the Tracker's == stats_from's" % (k, getattr(s, k)))
check(r.metadata["leaked_allocations"] >= 4 and s.leaked_bytes >= 13_000_004 and s.peak_memory >= 22_000_005,
      "metadata: leaked %d B in %d blocks, peak %d" % (s.leaked_bytes, r.metadata["leaked_allocations"],
                                                        s.peak_memory))

for bad, exc in ((lambda: r.top_locations(3, memory="most"), ValueError),
                 (lambda: r.top_locations(0), ValueError),
                 (lambda: FileReader(os.path.join(tmp, "none.memcap")), FileNotFoundError)):
    try:
        bad()
        check(False, "%s raised" % exc.__name__)
    except exc as e:
        check(str(e).startswith("memattach: "), "%s: %s" % (exc.__name__, e))
sys.exit(1 if failed else 0)

# check_most.py OUT BIN_DIR N: pytest's output with --most-allocations N (3,
# or 5: the default) and --memattach-bin-path BIN_DIR over limits_cases.py.
# The tests that allocate most are, in order, test_unmarked (a
# 50,000,000-byte bytearray), test_memory_over (40,000,000),
# test_memory_under (30,000,000), test_leaks_under (5,000,000) and
# test_leaks_over (3,000,000), the first N listed; each
# figure printed equals the kept capture's `report stats --json`, and every
# test of the file left its capture there.
import itertools
import os
import re
import sys

from memattach import stats_from

out, bin_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
failed = 0


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


text = open(out).read()
head = "memattach: the %d tests that allocated most" % n
tail = text.split(head, 1)[1].splitlines()[1:] if head in text else []
after = list(itertools.takewhile(lambda l: l.startswith("test_limits.py::"), tail))
want = [("test_unmarked", 50_000_001), ("test_memory_over", 40_000_001), ("test_memory_under", 30_000_001),
        ("test_leaks_under", 5_000_001), ("test_leaks_over", 3_000_001)][:n]
check(len(after) == n, "%r is followed by exactly %d lines (%d)" % (head, n, len(after)))
for line, (name, least) in zip(after, want):
    m = re.fullmatch(r"test_limits\.py::(\w+): ([0-9,]+) B allocated in ([0-9,]+) allocations \(peak ([0-9,]+) B\)",
                     line)
    if not m or m.group(1) != name:
        check(False, "expected %s: %r" % (name, line))
        continue
    total, count, peak = (int(m.group(i).replace(",", "")) for i in (2, 3, 4))
    path = os.path.join(bin_dir, "test_limits.py__%s.memcap" % name)
    s = stats_from(path) if os.path.exists(path) else None
    check(s is not None and (s.total_bytes_allocated, s.total_allocations, s.peak_memory) == (total, count, peak),
          "%s: %d B, %d allocations, peak %d == its kept capture's report stats" % (name, total, count, peak))
    check(least <= peak <= total < least + 2_000_000, "%s: %d <= peak %d <= total %d < %d + 2 MB"
          % (name, least, peak, total, least))
kept = sorted(os.listdir(bin_dir))
names = ["test_leaks_over", "test_leaks_under", "test_memory_over", "test_memory_under", "test_unmarked"]
check(kept == ["test_limits.py__%s.memcap" % n for n in names], "one capture per test kept: %s" % kept)
sys.exit(1 if failed else 0)

# check_pytest.py JUNIT.xml TEST_FILE OUT with|without: the outcome of each
# test of limits_cases.py, and for the failing ones the message: limit,
# measured value (within the truth's bounds), top location file:line.
import os
import re
import sys
import xml.etree.ElementTree as ET

junit, source, out, mode = sys.argv[1:5]
lines = open(source).read().splitlines()


def line_of(text):
    return next(i + 1 for i, l in enumerate(lines) if text in l)


# name -> (limit text, limit bytes, what, truth low, truth high, line)
over = {
    "test_memory_over": ("24 MB", 24_000_000, "peak memory", 40_000_001, 41_000_000,
                         line_of("bytearray(40_000_000)")),
    "test_leaks_over": ("1 MB", 1_000_000, "memory left live (leaked)", 3_000_001, 3_500_000,
                        line_of("kept.append(")),
}
names = ["test_memory_under", "test_memory_over", "test_leaks_under", "test_leaks_over", "test_unmarked"]
failed = 0


def bad(msg):
    global failed
    print("FAIL: " + msg)
    failed = 1


got = {}
for tc in ET.parse(junit).getroot().iter("testcase"):
    f = tc.find("failure")
    got[tc.get("name")] = f.get("message") if f is not None else None
if sorted(got) != sorted(names):
    bad("tests run: %s" % sorted(got))
for name in names:
    msg = got.get(name)
    if mode == "without" or name not in over:
        if msg is not None:
            bad("%s (%s --memattach) failed: %s" % (name, mode, msg))
        else:
            print("ok: %s passed (%s --memattach)" % (name, mode))
        continue
    if msg is None:
        bad("%s passed; it is over its limit" % name)
        continue
    text, limit, what, lo, hi, line = over[name]
    kind = "limit_memory" if "memory_over" in name else "limit_leaks"
    m = re.match(r"memattach: %s\('%s'\) exceeded: %s ([0-9,]+) B \([0-9.]+ MB\) > limit %s B \(%.2f MB\)\n"
                 % (kind, text, re.escape(what), "{:,}".format(limit), limit / 1e6), msg)
    value = int(m.group(1).replace(",", "")) if m else -1
    rows = msg.splitlines()[2:]
    top = rows[0].split() if rows else []
    if not m or not lo <= value < hi:
        bad("%s: message or value (truth %d..%d): %r" % (name, lo, hi, msg))
    elif len(top) < 4 or os.path.basename(top[2]) != "test_limits.py:%d" % line or top[3] != name:
        bad("%s: top location is not test_limits.py:%d %s: %r" % (name, line, name, msg))
    else:
        print("ok: %s failed: %s; top %s" % (name, msg.splitlines()[0], " ".join(top)))
sys.exit(failed)

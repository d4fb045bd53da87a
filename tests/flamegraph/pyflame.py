# pyflame.py DIR — a Python program for the flame graph's toggles: a module
# written into DIR and imported (so importlib's frames are on the stack of
# its top-level allocation) and a function called from the main module.
# Prints the truth: TRUTH <where> <bytes> <file>:<line>.  bytearray(n)
# mallocs n + 1 bytes; the sizes are above 2 MB, so a report with
# --min-size 2000000 sees only these (pymalloc's arenas are 1 MiB at most).
import os
import sys

d = sys.argv[1]
with open(os.path.join(d, "flamemod.py"), "w") as f:
    f.write("HELD = bytearray(3333333)\n")
sys.path.insert(0, d)
import flamemod  # noqa: E402  @import

SRC = open(__file__).read().splitlines()


def line_of(tag):
    return next(i + 1 for i, s in enumerate(SRC) if s.rstrip().endswith("@" + tag))


def hold():
    return bytearray(4444444)  # @hold


kept = hold()  # @call
print("TRUTH module %d flamemod.py:1" % (len(flamemod.HELD) + 1))
print("TRUTH hold %d pyflame.py:%d" % (len(kept) + 1, line_of("hold")))
print("TRUTH import_line %d pyflame.py:%d" % (len(flamemod.HELD) + 1, line_of("import")))
print("TRUTH call_line %d pyflame.py:%d" % (len(kept) + 1, line_of("call")))

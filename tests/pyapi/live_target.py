# The program tests/pyapi/live.sh watches: Tracker(live_mode=True), which
# waits for `memattach live --connect`; then one command a byte on stdin:
# 'a' keeps a 3,333,333-byte bytearray (malloc of 3,333,334 B in
# hold_block), 'x' leaves the block.  Prints "held N" after each 'a'.
import sys

from memattach import Tracker

kept = []


def hold_block():
    return bytearray(3_333_333)


with Tracker(sys.argv[1], live_mode=True) as t:
    print("tracking", flush=True)
    while True:
        c = sys.stdin.read(1)
        if c == "a":
            kept.append(hold_block())
            print("held %d" % len(kept), flush=True)
        elif c in ("x", ""):
            break
print("stopped", flush=True)

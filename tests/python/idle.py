# For the attach test: sleeps (memattach --pid attaches meanwhile), says
# how long the sleep really took, then allocates from known lines while
# the capture runs: until the file named by the second argument exists
# (the test makes it once memattach is done), at most 120 s.  TRUTH count
# -1: at least one, all with these frames.
import os
import sys
import time


def make_buffer(n):
    return bytearray(n)  # @buffer


def busy(stop):
    end = time.monotonic() + 120
    keep = []
    while time.monotonic() < end and not os.path.exists(stop):
        keep.append(make_buffer(1_234_567))  # @busy
        if len(keep) > 8:
            keep.clear()
        time.sleep(0.01)


if __name__ == "__main__":
    src = open(__file__).read().splitlines()
    line = {t: next(i + 1 for i, s in enumerate(src) if s.rstrip().endswith("# @" + t))
            for t in ("buffer", "busy")}
    print("ready", flush=True)
    t0 = time.monotonic()
    time.sleep(float(sys.argv[1]))
    print("SLEPT %.3f" % (time.monotonic() - t0), flush=True)
    busy(sys.argv[2])
    print("TRUTH 1234568 -1 make_buffer idle.py:%d|busy idle.py:%d" % (line["buffer"], line["busy"]))

# For python-attach-cycles.sh: busy, deterministic Python work in blocks,
# one line per block (a checksum chained through every block), until
# SIGUSR2 or, given N, for N blocks; then END, and whether the PyMem
# allocators are the ones it started with.  The same number of blocks
# gives the same output, byte for byte, whatever happened meanwhile.
import signal
import sys
import zlib

from pymem_allocators import allocators

A, C, M = 6364136223846793005, 1442695040888963407, 1 << 64
stop = False


def on_usr2(signum, frame):
    global stop
    stop = True


def block(x):
    keep = []
    for j in range(10000):
        x = (A * x + C) % M
        b = bytearray(600 + (x >> 33) % 1000)   # above 512 B: malloc
        b[-1] = j & 255
        keep.append(b)
    text = ",".join("%d:%d" % (len(b), b[-1]) for b in keep)
    return (x + zlib.crc32(text.encode())) % M


if __name__ == "__main__":
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    signal.signal(signal.SIGUSR2, on_usr2)
    before = allocators()
    print("ready", flush=True)
    x, k = 1, 0
    while k < limit if limit else not stop:
        k += 1
        x = block(x)
        print("block %d %d" % (k, x), flush=True)
    print("END %d" % k)
    print("PyMem allocators %s" % ("as before" if allocators() == before else "changed"), flush=True)

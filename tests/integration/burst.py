# burst.py — the Python counterpart of tests/targets/burst.c for
# attach-leftover.sh: idle in sys.stdin.readline(); "burst" makes 4096
# allocations from 2048 distinct Python stacks (an 11-level tree of two
# functions), drops them and prints "done N"; "quit" or end of file exits.
import sys

LEVELS = 11


def leaf(path, keep):
    # 1 KiB to 32 KiB: malloc, not pymalloc
    keep.append(bytearray(1024 << (path % 6)))
    keep.append(bytearray(1024 << ((path + 1) % 6)))


def walk_a(path, level, keep):
    if not level:
        leaf(path, keep)
    elif path >> (level - 1) & 1:
        walk_b(path, level - 1, keep)
    else:
        walk_a(path, level - 1, keep)


def walk_b(path, level, keep):
    if not level:
        leaf(path, keep)
    elif path >> (level - 1) & 1:
        walk_a(path, level - 1, keep)
    else:
        walk_b(path, level - 1, keep)


if __name__ == "__main__":
    print("ready", flush=True)
    n = 0
    for line in sys.stdin:
        if line != "burst\n":
            break
        keep = []
        for path in range(1 << LEVELS):
            walk_a(path, LEVELS, keep)
        del keep
        n += 1
        print("done %d" % n, flush=True)

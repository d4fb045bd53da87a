# Overhead workload for `make bench-python` (not a test): builds and drops
# many dicts, lists and strings at a given Python call depth.
# usage: python_workload.py ITERS DEPTH[d]
# DEPTH with a "d" (40d): each level a function of its own instead of one
# function calling itself (a real program's stack, where no frame shares
# its code object with the next).
# Prints "WORK CPU": the loop's wall time and the process's CPU time over
# it (every thread: the agent's writer too), in seconds.
import sys
import time


def build(i):
    d = {"k%d" % j: [j] * (j % 50) for j in range(40)}
    s = "-".join(str(x) for x in range(i % 200))
    big = [s] * 300
    return len(d) + len(big)


def level(n, i):
    return build(i) if n == 0 else level(n - 1, i)


def distinct_levels(depth):
    # level_K calls level_K-1 ... level_0 calls build: depth - 3 functions
    g = {"build": build}
    exec("def level_0(i):\n    return build(i)\n", g)
    for k in range(1, depth - 3):
        exec("def level_%d(i):\n    return level_%d(i)\n" % (k, k - 1), g)
    return g["level_%d" % (depth - 4)]


def main(iters, depth, distinct):
    # main, level * (depth - 3), build, and the comprehension / genexpr
    # inside it: the innermost frames sit at about DEPTH
    t = 0
    if distinct:
        top = distinct_levels(depth)
        for i in range(iters):
            t += top(i)
        return t
    for i in range(iters):
        t += level(depth - 4, i)
    return t


if __name__ == "__main__":
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    arg = sys.argv[2] if len(sys.argv) > 2 else "15"
    distinct = arg.endswith("d")
    depth = int(arg.rstrip("d"))
    t0, c0 = time.perf_counter(), time.process_time()
    main(iters, depth, distinct)
    print("%.3f %.3f" % (time.perf_counter() - t0, time.process_time() - c0))

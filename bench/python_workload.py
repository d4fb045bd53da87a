# Overhead workload for `make bench-python` (not a test): builds and drops
# many dicts, lists and strings at a given Python call depth.
# usage: python_workload.py ITERS DEPTH
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


def main(iters, depth):
    # main, level * (depth - 3), build, and the comprehension / genexpr
    # inside it: the innermost frames sit at about DEPTH
    t = 0
    for i in range(iters):
        t += level(depth - 4, i)
    return t


if __name__ == "__main__":
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    depth = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    t0, c0 = time.perf_counter(), time.process_time()
    main(iters, depth)
    print("%.3f %.3f" % (time.perf_counter() - t0, time.process_time() - c0))

# Overhead workload (not a test): builds and drops many dicts, lists and
# strings at some call depth.  Prints its own run time.
import sys
import time


def build(i):
    d = {"k%d" % j: [j] * (j % 50) for j in range(40)}
    s = "-".join(str(x) for x in range(i % 200))
    big = [s] * 300
    return len(d) + len(big)


def level(n, i):
    return build(i) if n == 0 else level(n - 1, i)


def main(iters):
    t = 0
    for i in range(iters):
        t += level(10, i)
    return t


if __name__ == "__main__":
    t0 = time.perf_counter()
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
    print("%.3f" % (time.perf_counter() - t0))

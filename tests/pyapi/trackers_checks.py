# Several Trackers at once, with known truth.  Each thread allocates
# bytearrays of sizes no other code here allocates (2 MB and more: the
# interpreter's own blocks stay below, pymalloc's arenas are 1 MiB), and
# each capture is read with `report stats --json --min-size 2000000`: its
# big allocations must be exactly those of its own window and threads.
# bytearray(n) is one malloc of n + 1 bytes.  The windows are driven by
# the test (events between the threads), never by time.
# argv[1]: a scratch directory.  One line per check; "FAIL: ..." fails.
import os
import sys
import threading

from checker import big, check, status
from memattach import Tracker, stats_from

tmp = sys.argv[1]


def alloc(n):
    return bytearray(n)   # malloc(n + 1)


# 1. Memray's per-thread example: a threads="current" Tracker in each of
# five workers, all open at once; each worker allocates its own size and
# starts a helper thread (inside its block) that allocates another; the
# main thread allocates while all five are open (in none of them).
N = 5
opened = threading.Barrier(N + 1)
main_done = threading.Barrier(N + 1)
paths = [os.path.join(tmp, "worker%d.memcap" % i) for i in range(N)]
own = [2_100_000 + 100_000 * i for i in range(N)]
helper = [3_100_000 + 100_000 * i for i in range(N)]
kept = {}
errors = []


def worker(i):
    try:
        with Tracker(paths[i], threads="current") as t:
            opened.wait()
            main_done.wait()
            kept[i] = alloc(own[i])
            h = threading.Thread(target=lambda: kept.__setitem__(("h", i), alloc(helper[i])))
            h.start()
            h.join()
            s = t.stats()
            kept[("s", i)] = s
    except BaseException as e:   # noqa: B902 - reported below
        errors.append("worker %d: %r" % (i, e))
        opened.abort()
        main_done.abort()


ws = [threading.Thread(target=worker, args=(i,)) for i in range(N)]
for w in ws:
    w.start()
opened.wait()
outside = alloc(4_700_000)   # every worker's tracker is open: in none of them
main_done.wait()
for w in ws:
    w.join()
check(not errors, "five threads' trackers ran: %s" % (errors or "no error"))
for i in range(N):
    b, n, leaked, complete = big(paths[i])
    want = own[i] + 1 + helper[i] + 1
    check((b, n, leaked, complete) == (want, 2, want, True),
          "worker %d's capture: %d B in %d big allocations, %d B leaked, complete %r; want %d B in 2 (its own "
          "%d and its helper thread's %d), all leaked" % (i, b, n, leaked, complete, want, own[i] + 1, helper[i] + 1))
    s = kept.get(("s", i))
    check(s is not None and s.current_memory >= want,
          "worker %d: stats() inside its block: current_memory %s >= %d" % (i, s and s.current_memory, want))
    check(stats_from(paths[i]).total_bytes_allocated > 0, "worker %d's capture reads" % i)
del kept

# 2. Two whole-process trackers whose windows overlap, in two threads.
#    main: A opens, x1; B opens (thread T) and T allocates y; main x2;
#    A closes; x3; B closes (T); x4 after both.
pa, pb = os.path.join(tmp, "A.memcap"), os.path.join(tmp, "B.memcap")
x1, y, x2, x3, x4 = 2_200_000, 2_300_000, 2_400_000, 2_500_000, 2_600_000
go_open, opened_b, go_close, closed_b = (threading.Event() for _ in range(4))
live = []


def other():
    go_open.wait()
    with Tracker(pb):
        live.append(alloc(y))
        opened_b.set()
        go_close.wait()
    closed_b.set()


th = threading.Thread(target=other)
th.start()
a = Tracker(pa).start()
live.append(alloc(x1))
go_open.set()
opened_b.wait()
live.append(alloc(x2))
a.stop()
live.append(alloc(x3))
go_close.set()
closed_b.wait()
th.join()
live.append(alloc(x4))
for path, sizes, name in ((pa, (x1, y, x2), "A"), (pb, (y, x2, x3), "B")):
    b, n, leaked, complete = big(path)
    want = sum(sizes) + len(sizes)
    check((b, n, leaked, complete) == (want, 3, want, True),
          "%s's window: %d B in %d big allocations (%d leaked, complete %r); want %d B in 3 (%s)"
          % (name, b, n, leaked, complete, want, " + ".join("%d" % (s + 1) for s in sizes)))
check(a.stats().total_bytes_allocated == stats_from(pa).total_bytes_allocated,
      "A's stats() after stop equals its report (%d B)" % a.stats().total_bytes_allocated)
del live

# 3. Nested in the same thread: a clear RuntimeError; threads="current"
#    too; the outer one goes on.
with Tracker(os.path.join(tmp, "outer.memcap"), threads="current") as outer:
    for kw in ({}, {"threads": "current"}):
        try:
            Tracker(os.path.join(tmp, "inner.memcap"), **kw).start()
            check(False, "a nested Tracker(%r) is refused" % kw)
        except RuntimeError as e:
            check("already active in this thread" in str(e), "nested Tracker(%r): RuntimeError: %s" % (kw, e))
    z = alloc(2_700_000)
b, n, _, _ = big(os.path.join(tmp, "outer.memcap"))
check((b, n) == (2_700_001, 1), "the outer tracker recorded on: %d B in %d" % (b, n))
check(not os.path.exists(os.path.join(tmp, "inner.memcap")), "the refused tracker wrote nothing")

# 4. A second tracker with other agent options while one is active: refused, clearly.
with Tracker(os.path.join(tmp, "first.memcap")):
    res = []
    t2 = threading.Thread(target=lambda: res.append(_try_other()))

    def _try_other():
        try:
            Tracker(os.path.join(tmp, "other.memcap"), native_traces=True).start()
            return None
        except RuntimeError as e:
            return str(e)
    t2.start()
    t2.join()
check(res[0] is not None and "native_traces=True" in res[0] and "same options" in res[0],
      "other agent options: RuntimeError: %s" % res[0])
# 5. The first tracker of a process takes the agent's records as they come
#    (receive.c); a second one opening while another thread allocates
#    without pause makes it go on with rebuilt batches.  Each allocation of
#    that thread, counted by the thread itself, is in its capture exactly
#    once: none of the batches it had already is given to it again.
#    With partner=True the thread takes turns with another (through pipes,
#    which allocate nothing), whose 600 B malloc or free comes between two
#    of its allocations: its batches are then all seq breaks, which the
#    receiver's cut per thread once read too high (its next allocations,
#    just past the opening, were lost).
SZ = 2_050_000


def across_open(name, partner):
    pa5, pb5 = os.path.join(tmp, name + "A.memcap"), os.path.join(tmp, name + "B.memcap")
    churned, want_more, reached, halt = [0], [50], threading.Event(), threading.Event()
    c_r, p_w = os.pipe()   # partner -> churn: your turn
    p_r, c_w = os.pipe()   # churn -> partner

    def churn():
        try:
            while not (partner and not os.read(c_r, 1)) and not halt.is_set():
                x = alloc(SZ)
                del x
                churned[0] += 1
                if churned[0] >= want_more[0]:
                    reached.set()
                if partner:
                    os.write(c_w, b"c")
        finally:
            os.close(c_w)   # the partner's read ends

    def take_turns():
        y = None
        while os.write(p_w, b"p") and os.read(p_r, 1):
            y = bytearray(600) if y is None else None   # > 512 B: a malloc, not pymalloc

    b_opened, b_close, b_closed = threading.Event(), threading.Event(), threading.Event()

    def second():
        with Tracker(pb5):
            b_opened.set()
            b_close.wait()
        b_closed.set()

    a5 = Tracker(pa5).start()
    helpers = [threading.Thread(target=f) for f in ([churn, take_turns] if partner else [churn])]
    for h in helpers:
        h.start()
    reached.wait()
    reached.clear()
    sec = threading.Thread(target=second)
    sec.start()       # opens while churn allocates
    b_opened.wait()
    want_more[0] = churned[0] + 50
    reached.wait()    # and churn goes on a while after it
    halt.set()
    for h in helpers:
        h.join()
    for fd in (c_r, p_w, p_r):
        os.close(fd)
    b_close.set()
    sec.join()
    a5.stop()
    b, n, leaked, complete = big(pa5)
    check((b, n, leaked, complete) == (churned[0] * (SZ + 1), churned[0], 0, True),
          "the first tracker across a second one's opening%s: %d B in %d big allocations (%d leaked, complete %r); "
          "want the thread's %d allocations of %d B, each once, none leaked"
          % (" (taking turns)" if partner else "", b, n, leaked, complete, churned[0], SZ + 1))
    check(a5.stats().total_allocations == stats_from(pa5).total_allocations,
          "its stats() after stop equals its report (%d allocations)" % a5.stats().total_allocations)


across_open("free", False)
across_open("turns", True)
sys.exit(status())

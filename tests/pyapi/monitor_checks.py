# MemoryMonitor and the loop users write around tracker.stats(), with
# known truth: blocks of 10,000,000 bytes (10,000,001 allocated each) kept
# by the main thread. argv[1]: a scratch directory.
#  1. check() after each block, threshold 35 MB: under it after 3 blocks,
#     the dump happens at the 4th; the dumped capture holds the 4 blocks
#     (at the allocating line, 40,000,004 B in 4) and nothing after.
#  2. the interval-driven loop (interval 10 ms): the crossing is found by
#     the monitor's own thread while the main thread waits for on_exceed.
#  3. the hand-written monitor of Memray's docs: a second thread reading
#     tracker.stats().current_memory while the main thread allocates,
#     stepped by the main thread (no sleeps): it sees each block.
import os
import sys
import threading

from memattach import FileReader, MemoryMonitor, Tracker

tmp = sys.argv[1]
failed = 0
BLOCK = 10_000_001


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


def grow(blocks):
    blocks.append(bytearray(10_000_000))  # the allocating line


src = open(__file__).read().splitlines()
ALLOC_LINE = next(i + 1 for i, l in enumerate(src) if l.endswith("# the allocating line"))

try:
    MemoryMonitor(os.path.join(tmp, "never.memcap"), "1 MB").check()
    check(False, "check() before start() is refused")
except RuntimeError as e:
    check(str(e).startswith("memattach: "), "check() before start(): %s" % e)
try:
    MemoryMonitor(os.path.join(tmp, "never.memcap"), "35 XB")
    check(False, "a bad threshold is refused")
except ValueError as e:
    check(str(e).startswith("memattach: bad size"), "a bad threshold: %s" % e)

# 1. driven by check()
path = os.path.join(tmp, "monitor.memcap")
seen = []
mon = MemoryMonitor(path, "35 MB", interval=3600, on_exceed=lambda p, s: seen.append((p, s)))
mon.start()
blocks, results = [], []
for i in range(6):
    grow(blocks)
    results.append(mon.check())
    if mon.exceeded:
        break
mon.stop()
under = [s.current_memory for s in results[:3]]
check(len(results) == 4 and mon.exceeded is results[3], "the dump happens at the 4th block (%d checks)" % len(results))
check(all(n * BLOCK <= c < 35_000_000 for n, c in zip((1, 2, 3), under)),
      "under the threshold after 1-3 blocks: %r" % under)
check(4 * BLOCK <= mon.exceeded.current_memory < 4 * BLOCK + 2_000_000,
      "over it at 4: current_memory %d >= 40,000,004" % mon.exceeded.current_memory)
check(seen and seen[0][0] == path and seen[0][1] is mon.exceeded, "on_exceed(path, stats) was called once")
top = FileReader(path).top_locations(1, memory="leaks")[0]
check((os.path.basename(top.where), top.own_bytes, top.own_count) == ("monitor_checks.py:%d" % ALLOC_LINE, 4 * BLOCK, 4),
      "the dump's leaks: 40,000,004 B in 4 blocks at monitor_checks.py:%d (%s %d B in %d)"
      % (ALLOC_LINE, top.where, top.own_bytes, top.own_count))
grow(blocks)   # after the dump: not in it
check(FileReader(path).stats.total_bytes_allocated < 5 * BLOCK, "the dump ends at the crossing")
del blocks[:]

# 2. found by the monitor's own periodic check
path2 = os.path.join(tmp, "monitor2.memcap")
crossed = threading.Event()
with MemoryMonitor(path2, "35 MB", interval=0.01, on_exceed=lambda p, s: crossed.set()) as mon2:
    for i in range(4):
        grow(blocks)
    check(crossed.wait(60), "the periodic check found the crossing")
check(mon2.exceeded is not None and 4 * BLOCK <= mon2.exceeded.current_memory < 4 * BLOCK + 2_000_000,
      "periodic: current_memory %r at the crossing" % (mon2.exceeded and mon2.exceeded.current_memory))
del blocks[:]

# 3. the loop users write: another thread polls tracker.stats()
step, answer = threading.Semaphore(0), []
done = threading.Event()


def poll(tracker):
    while True:
        step.acquire()
        if done.is_set():
            return
        answer.append(tracker.stats().current_memory)
        step_done.release()


step_done = threading.Semaphore(0)
with Tracker(os.path.join(tmp, "poll.memcap")) as tracker:
    poller = threading.Thread(target=poll, args=(tracker,))
    poller.start()
    for i in range(3):
        grow(blocks)
        step.release()
        step_done.acquire()
    done.set()
    step.release()
    poller.join()
check(all(n * BLOCK <= c < n * BLOCK + 2_000_000 for n, c in zip((1, 2, 3), answer)) and len(answer) == 3,
      "a second thread's stats().current_memory sees each block: %r" % answer)
sys.exit(1 if failed else 0)

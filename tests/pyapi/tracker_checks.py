# Tracker checks with known truth; prints one line per check, "FAIL: ..."
# for a failed one.  argv[1]: a scratch directory.
import errno
import os
import sys

from memattach import Tracker, stats_from

tmp = sys.argv[1]
failed = 0


def check(ok, what):
    global failed
    print(("ok: " if ok else "FAIL: ") + what)
    failed |= not ok


# stats() inside a block: a 50,000,000-byte bytearray is live, then freed.
path = os.path.join(tmp, "stats.memcap")
with Tracker(path) as t:
    data = bytearray(50_000_000)
    s1 = t.stats()
    del data
    s2 = t.stats()
check(s1.current_memory >= 50_000_000, "current_memory %d >= 50,000,000 with the bytearray live" % s1.current_memory)
check(s1.peak_memory >= 50_000_000, "peak_memory %d >= 50,000,000" % s1.peak_memory)
check(s1.current_memory - s2.current_memory >= 50_000_000,
      "current_memory drops by >= 50,000,000 after del (%d -> %d)" % (s1.current_memory, s2.current_memory))
check(s2.peak_memory >= s1.peak_memory, "peak_memory keeps its high-water mark")
check(s1.leaked_bytes is None, "leaked_bytes is None while tracking")

# After stop: the same numbers as `memattach report stats --json`.
fin, rep = t.stats(), stats_from(path)
for k in ("current_memory", "peak_memory", "total_allocations", "total_frees",
          "total_bytes_allocated", "leaked_bytes"):
    check(getattr(fin, k) == getattr(rep, k),
          "after stop %s %r == report stats --json %r" % (k, getattr(fin, k), getattr(rep, k)))
check(fin.total_allocations >= s1.total_allocations > 0, "total_allocations grows")

# An existing destination is refused unless overwrite=True.
try:
    Tracker(path).start()
    check(False, "an existing destination is refused")
except FileExistsError as e:
    check(e.errno == errno.EEXIST and "overwrite=True" in str(e) and e.filename == path,
          "existing destination: FileExistsError: %s" % e)
with Tracker(path, overwrite=True) as t:
    x = bytearray(3_000_000)
check(t.stats().peak_memory >= 3_000_000 and stats_from(path).peak_memory == t.stats().peak_memory,
      "overwrite=True replaces it (peak %d)" % t.stats().peak_memory)

# A Tracker nested in the same thread: a clear RuntimeError, the outer one goes on.
with Tracker(os.path.join(tmp, "outer.memcap")) as outer:
    try:
        with Tracker(os.path.join(tmp, "inner.memcap")):
            pass
        check(False, "a nested Tracker is refused")
    except RuntimeError as e:
        check("already active in this thread" in str(e), "nested: RuntimeError: %s" % e)
    y = bytearray(2_000_000)
    check(outer.stats().current_memory >= 2_000_000, "the outer tracker still records")
check(not os.path.exists(os.path.join(tmp, "inner.memcap")), "the refused tracker wrote nothing")
import threading
# stats() from several threads at once (each gets its own answer)
res = []
with Tracker(os.path.join(tmp, "many.memcap")) as t3:
    big = bytearray(5_000_000)
    ths = [threading.Thread(target=lambda: res.extend(t3.stats().current_memory for _ in range(20)))
           for _ in range(3)]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
check(len(res) == 60 and all(r >= 5_000_001 for r in res),
      "3 threads x 20 stats() at once: %d answers, each >= 5,000,001" % len(res))

# A fork inside the block (follow_fork=False): the child leaves the block
# (its exit does not end or wait for the parent's capture; its stats() is
# refused), the parent goes on recording and ends the capture.
fpath = os.path.join(tmp, "fork.memcap")
with Tracker(fpath) as tf:
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            try:
                tf.stats()
            except RuntimeError as e:
                code = 0 if "a forked child is not tracked" in str(e) else 4
            tf.stop()   # what leaving the block does: nothing here
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    kept_f = bytearray(8_000_000)
    sf = tf.stats()
check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
      "the forked child's stats() is refused and its stop() returns at once (status %r)" % status)
check(sf.current_memory >= 8_000_001 and stats_from(fpath).peak_memory == tf.stats().peak_memory,
      "the parent records on and ends the capture (current %d)" % sf.current_memory)

# A Tracker started and never stopped: stopped at exit, the capture whole
# the moment the program has ended.
import json
import subprocess
npath = os.path.join(tmp, "noexit.memcap")
subprocess.run([sys.executable, "-c", "from memattach import Tracker\n"
                "t = Tracker(%r)\nt.start()\nkept = bytearray(5_000_000)\n" % npath], check=True)
rep = json.loads(subprocess.run([os.environ["MEMATTACH_BIN"], "report", "stats", "--json", npath],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout or "{}")
check(rep.get("truncated") is False and rep.get("leaked_bytes", 0) >= 5_000_001,
      "never stopped: whole at exit (truncated %r, leaked %r)" % (rep.get("truncated"), rep.get("leaked_bytes")))

# A bad threads= is refused when the Tracker is made.
try:
    Tracker(os.path.join(tmp, "never.memcap"), threads="some")
    check(False, "Tracker(threads='some') is refused")
except ValueError as e:
    check(str(e).startswith("memattach: "), "Tracker(threads='some'): ValueError: %s" % e)
check(not os.path.exists(os.path.join(tmp, "never.memcap")), "nothing written for it")
sys.exit(1 if failed else 0)

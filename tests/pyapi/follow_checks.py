# Tracker(follow_fork=True): the parent and three children forked inside
# the block (two with os.fork, one by multiprocessing's fork start
# method) each leak a bytearray of a size nothing else allocates; each
# capture (DEST, DEST.<pid>) must hold exactly its own, complete once the
# children have exited.  argv[1]: a scratch directory.
import multiprocessing
import os
import sys

from checker import big, check, status
from memattach import Tracker

tmp = sys.argv[1]
leaked = []


def leak(n):
    leaked.append(bytearray(n))   # malloc(n + 1), never freed


dest = os.path.join(tmp, "tree.memcap")
sizes = {}
with Tracker(dest, follow_fork=True):
    leak(2_050_000)
    for i in range(2):
        pid = os.fork()
        if pid == 0:
            leak(2_150_000 + 100_000 * i)
            os._exit(0)     # the child's capture is ended first (the Tracker wraps os._exit there)
        sizes[pid] = 2_150_000 + 100_000 * i
        _, st = os.waitpid(pid, 0)
        check(os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0, "os.fork child %d exited 0" % pid)
    p = multiprocessing.get_context("fork").Process(target=leak, args=(2_450_000,))
    p.start()
    p.join()
    check(p.exitcode == 0, "multiprocessing child %d exited 0" % p.pid)
    sizes[p.pid] = 2_450_000

want = (2_050_001, 1, 2_050_001, True)
check(big(dest) == want, "the parent's capture %r == %r" % (big(dest), want))
files = sorted(f for f in os.listdir(tmp) if f.startswith("tree.memcap."))
check(files == sorted("tree.memcap.%d" % pid for pid in sizes), "one capture per child: %s" % files)
for pid, n in sizes.items():
    got, want = big("%s.%d" % (dest, pid)), (n + 1, 1, n + 1, True)
    check(got == want, "child %d's capture %r == %r (its own leak, complete)" % (pid, got, want))
sys.exit(status())

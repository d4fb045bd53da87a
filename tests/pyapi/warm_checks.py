# Tracker.start() returns once the receiver's symbol prewarm has opened the
# process's libc (DESIGN.md "In-process use from Python"): the tracked
# code then runs with none of that work beside it, as under `run`.
# argv[1]: a scratch directory.
import os
import sys

from checker import check, status
from memattach import Tracker


def libc_file():
    """(st_dev, st_ino) of the libc this process runs."""
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            if os.path.basename(path) == "libc.so.6":
                st = os.stat(path)
                return st.st_dev, st.st_ino
    return None


def open_files(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            st = os.stat("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return out


libc = libc_file()
t = Tracker(os.path.join(sys.argv[1], "warm.memcap"), overwrite=True)
t.start()
held = open_files(t._hub.proc.pid)   # at once: nothing waited for
t.stop()
check(libc is not None, "this process's libc found in /proc/self/maps")
check(libc in held, "the receiver has libc's symbols open when start() returns")
sys.exit(status())

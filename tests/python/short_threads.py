# Short-lived named threads, started one after another (as http.server
# does per request): each allocates one buffer of a known, distinct size
# and ends at once; the next starts only after it has ended (join), so no
# two are alive together and none lives until a periodic read of
# threading._active.  Prints one line per thread,
#   THREADNAME <tid> <bytes> <name>
# then ALLOCATED.  bytearray(n) mallocs n + 1 bytes.
# Usage: short_threads.py N [START_FILE GO_FILE]  (for memattach --pid:
# waits for START_FILE before starting the threads, and for GO_FILE
# before exiting).
import os
import sys
import threading
import time

BASE = 3_000_029
n = int(sys.argv[1])
rows = []


def work(size):
    buf = bytearray(size)
    rows.append((threading.get_native_id(), size + 1, threading.current_thread().name))
    return len(buf)




def wait_file(path):
    end = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.02)


if len(sys.argv) > 2:
    print("ready", flush=True)
    wait_file(sys.argv[2])
for k in range(n):
    t = threading.Thread(target=work, args=(BASE + 12 * k,), name="req-%d" % k)
    t.start()
    t.join()
for tid, size, name in rows:
    print("THREADNAME %d %d %s" % (tid, size, name))
print("ALLOCATED", flush=True)
if len(sys.argv) > 3:
    wait_file(sys.argv[3])

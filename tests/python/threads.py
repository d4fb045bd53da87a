# Thread names from Python's threading module: named threads (short, longer
# than a comm's 15 bytes, beyond the 63 bytes kept, a pool's worker) and
# the main thread each allocate one buffer of a known, distinct size, then
# stay alive until the test has seen their names in the capture (it creates
# GO_FILE).  Prints one line per thread,
#   THREADNAME <tid> <bytes> <name as the capture must hold it>
# then ALLOCATED.  bytearray(n) mallocs n + 1 bytes.
# Usage: threads.py GO_FILE [START_FILE]  (with START_FILE, the threads are
# started first and wait for that file before allocating: attach mode).
import concurrent.futures
import os
import sys
import threading
import time

sys.stdout.reconfigure(encoding="utf-8")
NAMES = [
    "loader-1",
    "loader-2",
    "a-custom-thread-name-of-30-chr",
    "pool" + "\u00e9" * 40,     # 84 bytes of UTF-8: cut to 62, between characters
]
BASE = 3_000_017


def kept(name):
    """The name as the agent keeps it: at most 63 bytes, whole characters."""
    return name.encode()[:63].decode("utf-8", "ignore")


def wait_file(path, seconds):
    end = time.monotonic() + seconds
    while not os.path.exists(path) and time.monotonic() < end:
        time.sleep(0.02)


start = sys.argv[2] if len(sys.argv) > 2 else None
release = threading.Event()
lock = threading.Lock()
rows = []


def work(n):
    if start:
        wait_file(start, 30)
    buf = bytearray(n)
    with lock:
        rows.append((threading.get_native_id(), n + 1, kept(threading.current_thread().name)))
    release.wait(60)
    return len(buf)


sizes = [BASE + 12 * k for k in range(len(NAMES) + 2)]
threads = [threading.Thread(target=work, args=(sizes[k],), name=name)
           for k, name in enumerate(NAMES)]
for t in threads:
    t.start()
pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)   # "ThreadPoolExecutor-0_0"
job = pool.submit(work, sizes[len(NAMES)])
print("ready", flush=True)
if start:
    wait_file(start, 30)
main_buf = bytearray(sizes[-1])
rows.append((threading.get_native_id(), sizes[-1] + 1, "MainThread"))
while True:
    with lock:
        if len(rows) == len(sizes):
            break
    time.sleep(0.01)
for tid, size, name in sorted(rows):
    print("THREADNAME %d %d %s" % (tid, size, name))
print("ALLOCATED", flush=True)
wait_file(sys.argv[1], 30)
release.set()
for t in threads:
    t.join()
job.result()
pool.shutdown()

# For python-attach-states.sh: the main thread waits in one state while
# memattach --pid attaches and detaches.  Usage: states.py MODE OUT SIZE
#   stdin    blocked in sys.stdin.readline(); writes the line read to OUT
#   accept   blocked in socket.accept() (port on stdout); writes the bytes
#            received until the peer closes to OUT
#   loop     counts in a pure-Python loop until SIGUSR2: COUNT n x
#   cext     inside one C call that holds the GIL until the test says so:
#            libc read(0) of one byte through ctypes.PyDLL (which keeps
#            the GIL); then CALL and the byte read, then idles until
#            SIGUSR2, saying WRAPPED when it first sees PyMem allocators
#            other than the ones it started with and RESTORED when they
#            are those again; at the end whether they are
#   threads  4 threads; on "go" (stdin) each makes 5 bytearrays of a known
#            size, on "quit" all exit
# SIGUSR1 (sent once the capture runs) allocates SIZE - 1 bytes through
# grab() from the handler; the TRUTH lines (check.py) say where.
import ctypes
import errno
import os
import signal
import socket
import sys
import threading
import time

from pymem_allocators import allocators

SRC = open(__file__).read().splitlines()
NEW = sys.version_info >= (3, 11)   # co_qualname


def line_of(tag):
    return next(i + 1 for i, s in enumerate(SRC) if s.rstrip().endswith("# @" + tag))


def fr(name, tag):
    return "%s states.py:%d" % (name, line_of(tag))


def say(s):
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def truth(size, count, *frames):
    say("TRUTH %d %d %s" % (size, count, "|".join(frames)))


grabbed = []
stop = False


def grab(n):
    return bytearray(n)  # @grab


def on_usr1(signum, frame):
    grabbed.append(grab(SIZE - 1))  # @handler
    say("GRABBED %.6f" % time.time())


def on_usr2(signum, frame):
    global stop
    stop = True


def wait_stdin():
    return sys.stdin.readline()  # @readline


def wait_accept(srv):
    conn, _ = srv.accept()  # @accept
    return conn


def socket_accept_frame():
    """socket.socket.accept (Python) calls the C _accept: its frame is
    between the handler and wait_accept."""
    co = socket.socket.accept.__code__
    lines = open(co.co_filename).read().splitlines()
    n = next(i + 1 for i in range(co.co_firstlineno - 1, len(lines))
             if "self._accept()" in lines[i])
    return "%s socket.py:%d" % ("socket.accept" if NEW else "accept", n)


A, C, M = 6364136223846793005, 1442695040888963407, 1 << 64


def count_loop():
    x, i = 1, 0
    while not stop:
        x = (A * x + C) % M
        i += 1
    return i, x


def idle_until_stop(before):
    """Allocates now and then through PyMem (a list's items), so that
    wrappers installed late are still seen, and says when the allocators
    change and come back."""
    keep, wrapped = None, False
    while not stop:
        time.sleep(0.02)
        keep = [stop] * 100  # @idle
        now = allocators()
        if now != before and not wrapped:
            wrapped = True
            say("WRAPPED")
        elif now == before and wrapped:
            wrapped = False
            say("RESTORED")
    return keep


def gil_read():
    """One byte from stdin by libc's read, the GIL held all along (a
    PyDLL call does not release it): a C call that lasts until the test
    writes.  Retried when a signal interrupts it."""
    libc = ctypes.PyDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(1)
    while True:
        n = libc.read(0, buf, 1)
        if n >= 0 or ctypes.get_errno() != errno.EINTR:
            return buf.raw[:n] if n > 0 else b""  # @gilread


def tbuf(n):
    return bytearray(n)  # @tbuf


def worker(k, go, done, quit):
    junk = []
    while not go.is_set():   # running (and allocating) until go
        junk.append(bytes(100 + k) * 3)
        if len(junk) > 50:
            junk.clear()
        go.wait(0.002)
    keep = []
    for _ in range(5):
        keep.append(tbuf(700_003 + 1000 * k))  # @worker
    done.set()
    quit.wait()
    return keep


def threads():
    go, quit = threading.Event(), threading.Event()
    dones = [threading.Event() for _ in range(4)]
    ts = [threading.Thread(target=worker, args=(k, go, dones[k], quit)) for k in range(4)]
    for t in ts:
        t.start()
    for k in range(4):
        truth(700_004 + 1000 * k, 5, fr("tbuf", "tbuf"), fr("worker", "worker"))
    say("ready")
    while True:
        cmd = sys.stdin.readline()
        if cmd == "go\n":
            go.set()
            for d in dones:
                d.wait()
            say("DONE %.6f" % time.time())
        else:   # quit, or end of file
            quit.set()
            break
    for t in ts:
        t.join()


if __name__ == "__main__":
    mode, out, SIZE = sys.argv[1], sys.argv[2], int(sys.argv[3])
    signal.signal(signal.SIGUSR1, on_usr1)
    signal.signal(signal.SIGUSR2, on_usr2)
    handler = [fr("grab", "grab"), fr("on_usr1", "handler")]
    if mode == "stdin":
        truth(SIZE, 1, *handler, fr("wait_stdin", "readline"))
        say("ready")
        line = wait_stdin()
        with open(out, "w", encoding="utf-8", newline="") as f:
            f.write(line)
    elif mode == "accept":
        truth(SIZE, 1, *handler, socket_accept_frame(), fr("wait_accept", "accept"))
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        say("port %d" % srv.getsockname()[1])
        say("ready")
        conn = wait_accept(srv)
        with open(out, "wb") as f:
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                f.write(b)
        conn.close()
    elif mode == "loop":
        truth(SIZE, 1, *handler)
        say("ready")
        n, x = count_loop()
        say("COUNT %d %d" % (n, x))
    elif mode == "cext":
        truth(SIZE, 1, *handler)
        before = allocators()
        say("ready")
        got = gil_read()
        say("CALL %r" % got)
        idle_until_stop(before)
        say("ALLOCATORS %s" % ("as before" if allocators() == before else "changed"))
    elif mode == "threads":
        threads()
    say("EXIT")

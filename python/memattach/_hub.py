"""The process's one agent session and its receiver, shared by every
Tracker active in the process (each a capture cut from the one stream:
see DESIGN.md "In-process use from Python").

A `memattach receive` child writes the captures; this process loads
libmemattach-agent.so with ctypes and calls memattach_agent_start with the
receiver's socket.  Each command to the receiver (open, stats, close) is
written to its stdin before the memattach_agent_sync call whose Tick
carries the command's sync id, and is done at that Tick: the window
boundaries and the totals are exact at the call.  One conversation at a
time (LOCK), so every answer read is the one asked for."""
import ctypes
import errno
import itertools
import json
import os
import re
import subprocess
import sys
import threading

from ._locate import find_cli

LOCK = threading.Lock()
current = None               # the running Hub of this process, if any
_agents = {}                 # path -> ctypes.CDLL, loaded once per process
_sync_ids = itertools.count(1)
_tracker_ids = itertools.count(1)


def _load_agent(path):
    lib = _agents.get(path)
    if lib is None:
        lib = ctypes.CDLL(path)   # CDLL: the GIL is released during calls
        lib.memattach_agent_start.argtypes = [ctypes.c_char_p]
        lib.memattach_agent_start.restype = ctypes.c_int
        lib.memattach_agent_stop.argtypes = []
        lib.memattach_agent_stop.restype = ctypes.c_int
        lib.memattach_agent_sync.argtypes = [ctypes.c_ulonglong]
        lib.memattach_agent_sync.restype = ctypes.c_int
        lib.memattach_agent_active.argtypes = []
        lib.memattach_agent_active.restype = ctypes.c_int
        _agents[path] = lib
    return lib


def _stall_config():
    """$MEMATTACH_STALL_LIMIT as the CLI takes it (e.g. 60s, 100ms): the
    test suite sets it, its exact checks need every event on a loaded
    machine."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|h)\s*", os.environ.get("MEMATTACH_STALL_LIMIT", ""))
    if not m:
        return b""
    us = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}[m.group(2)]
    return (";stall_us=%d" % min(max(us, 1), 3600e6)).encode()


class Hub:
    """Call everything with LOCK held."""

    def __init__(self, config, follow):
        self.config = config        # the agent's options: every tracker shares them
        self.follow = follow
        self.trackers = set()       # open in the receiver
        self.finals = {}            # tracker id -> totals at its end
        self.pid = os.getpid()
        cmd = [find_cli(), "receive", "--pid", str(self.pid)]
        # its own session: a Ctrl-C meant for this program must not end the capture
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     start_new_session=True, close_fds=True)
        info = {}
        for _ in range(2):
            key, _, value = self._line().partition(" ")
            info[key] = value
        if "socket" not in info or "agent" not in info:
            rc = self.proc.wait()
            raise RuntimeError("memattach: the receiver (%s receive) failed to start (exit %d); "
                               "see its message above" % (cmd[0], rc))
        self.socket = info["socket"]
        self.lib = _load_agent(info["agent"])

    # -- the conversation ----------------------------------------------
    def _line(self):
        """The next line with something on it; "" at the end."""
        while True:
            raw = self.proc.stdout.readline()
            line = raw.decode("utf-8", "replace").strip()
            if line or not raw:
                return line

    def _send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def _answer(self, want):
        """Reads up to the line want(key, rest) accepts; finals of trackers
        ended meanwhile (the stream ended) are kept.  None at the end."""
        while True:
            line = self._line()
            if not line:
                return None
            key, _, rest = line.partition(" ")
            if key == "final":
                tid, _, body = rest.partition(" ")
                self.finals[int(tid)] = json.loads(body)
            if want(key, rest):
                return rest

    def _sync(self, sid):
        r = self.lib.memattach_agent_sync(sid)
        if r < 0:
            raise RuntimeError("memattach: the capture ended early (the receiver is gone: %s)" % os.strerror(-r))

    # -- trackers --------------------------------------------------------
    def open(self, tracker, first):
        """Opens tracker's capture: from now on (first: from the agent's start)."""
        tid = next(_tracker_ids)
        sid = 0 if first else next(_sync_ids)
        live = tracker._live_path or "-"
        self._send("open %d %d %d %d %s %s" % (tid, sid, tracker._opener, int(tracker.follow_fork), live,
                                               tracker.destination))
        if not first:
            self._sync(sid)
        key_ok = lambda k, rest: k in ("active", "error") and rest.split(" ", 1)[0] == str(tid)
        rest = self._answer(key_ok)
        if rest is None:
            raise RuntimeError("memattach: the receiver ended early")
        if rest != str(tid):
            raise RuntimeError("memattach: %s" % rest.split(" ", 1)[1])
        self.trackers.add(tid)
        if tracker._live_path:
            sys.stderr.write("memattach: waiting for a viewer: memattach live --connect %s\n" % tracker._live_path)
            sys.stderr.flush()
            if self._answer(lambda k, rest: k == "viewer" and rest == str(tid)) is None:
                raise RuntimeError("memattach: the receiver ended early")
        return tid

    def start_agent(self, config):
        r = self.lib.memattach_agent_start(config + _stall_config())
        if r < 0:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("memattach: the agent did not start: %s%s" % (
                os.strerror(-r),
                " (is this process already tracked, e.g. under `memattach run`?)" if -r == errno.EALREADY else ""))

    def warm(self):
        """Waits until the receiver has opened the symbols the stacks so far
        need (its prewarm): that work not beside the tracked code, as under
        `run` it overlaps the interpreter's start (DESIGN.md)."""
        sid = next(_sync_ids)
        self._send("warm 0 %d" % sid)
        self._sync(sid)
        if self._answer(lambda k, rest: k == "warm" and rest == str(sid)) is None:
            raise RuntimeError("memattach: the receiver ended early")

    def stats(self, tid):
        sid = next(_sync_ids)
        self._send("stats %d %d" % (tid, sid))
        self._sync(sid)
        rest = self._answer(lambda k, rest: k == "stats" and rest.split(" ", 1)[0] == str(sid))
        if rest is None:
            raise RuntimeError("memattach: the receiver ended early")
        return json.loads(rest.split(" ", 1)[1])

    def close(self, tid):
        """Ends tid's capture; the last one ends the agent's session.
        Returns the final totals (None: the receiver failed)."""
        still = self.trackers - set(self.finals)
        if tid in still and len(still) > 1:
            sid = next(_sync_ids)
            self._send("close %d %d" % (tid, sid))
            self._sync(sid)
            self._answer(lambda k, rest: k == "final" and rest.split(" ", 1)[0] == str(tid))
        elif tid in still:
            self.lib.memattach_agent_stop()
            self._answer(lambda k, rest: k == "final" and rest.split(" ", 1)[0] == str(tid))
        self.trackers.discard(tid)
        if not self.trackers - set(self.finals):
            self._end()
        return self.finals.pop(tid, None)

    def _end(self):
        """Every tracker ended: the receiver ends with the agent's stream
        (with follow_fork, once the children's have ended too: not waited
        for here)."""
        global current
        if current is self:
            current = None
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if self.follow:   # children still running go on: not waited for
            self._answer(lambda k, rest: k == "done")
        else:
            self.proc.wait()
        self.proc.stdout.close()


def after_fork_in_child():
    """A forked child: the receiver is the parent's.  With follow_fork the
    agent has started a session of the child's own (agent/fork_follow.c),
    ended when the child exits — os._exit included, which multiprocessing's
    fork children end with — so that its capture is whole."""
    global LOCK, current
    LOCK = threading.Lock()     # a parent's thread may have held it
    hub, current = current, None
    if hub is None or not hub.follow:
        return
    if not hub.lib.memattach_agent_active():
        # its session could not connect (the receiver gone, or its socket)
        sys.stderr.write("memattach: warning: forked child %d is not tracked (follow_fork: its agent "
                         "could not reach the receiver)\n" % os.getpid())
        return
    lib, real_exit = hub.lib, os._exit

    def stop_child_session():
        if lib.memattach_agent_active():
            lib.memattach_agent_stop()

    def _exit(code):
        stop_child_session()
        real_exit(code)

    os._exit = _exit
    import atexit
    atexit.register(stop_child_session)


os.register_at_fork(after_in_child=after_fork_in_child)

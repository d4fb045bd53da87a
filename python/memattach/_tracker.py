"""Tracker: the agent started inside this process (no ptrace).

A `memattach receive` child listens, writes the capture and runs the live
analysis; this process loads libmemattach-agent.so with ctypes and calls
memattach_agent_start with the receiver's socket.  stats() asks the agent
for a Tick that covers every allocation made so far (memattach_agent_sync)
and reads the receiver's totals at that Tick.  See DESIGN.md "In-process
use from Python"."""
import atexit
import ctypes
import errno
import itertools
import json
import os
import re
import subprocess
import threading

from ._locate import find_cli
from ._units import parse_size

_agents = {}                 # path -> ctypes.CDLL, loaded once per process
_sync_ids = itertools.count(1)
_local = threading.local()
_active_lock = threading.Lock()
_active = None               # the Tracker running in this process, if any


class Stats:
    """Totals with the counting rules of `memattach report stats --json`.
    sampled: None, or (sample=SIZE) what `report stats --json` says in
    "sampled": the interval, the samples, the keys that are estimates
    ("estimated") and the agent's exact counts ("exact": total_allocations,
    total_bytes_allocated, total_frees); the other figures are estimates."""

    __slots__ = ("current_memory", "peak_memory", "total_allocations", "total_frees",
                 "total_bytes_allocated", "leaked_bytes", "sampled")

    def __init__(self, totals, final):
        self.current_memory = totals["live_bytes"]
        self.peak_memory = totals["peak_bytes"]
        self.total_allocations = totals["total_allocations"]
        self.total_frees = totals["total_frees"]
        self.total_bytes_allocated = totals["total_bytes_allocated"]
        self.leaked_bytes = totals["live_bytes"] if final else None
        self.sampled = totals.get("sampled")

    def __repr__(self):
        return "Stats(%s)" % ", ".join("%s=%r" % (k, getattr(self, k)) for k in self.__slots__)


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
        _agents[path] = lib
    return lib


def _sample_bytes(sample):
    """sample=: None (every allocation), bytes, or a size as the CLI's
    --sample takes it ("512KiB"); 1 B to 1 GiB."""
    if sample is None:
        return 0
    try:
        n = parse_size(sample) if isinstance(sample, str) else int(sample)
    except ValueError:
        raise ValueError("memattach: sample=%r is not a size; use bytes or e.g. '512KiB'" % (sample,)) from None
    if not 1 <= n <= 1 << 30:
        raise ValueError("memattach: sample=%r is out of range; give 1 B to 1 GiB" % (sample,))
    return n


@atexit.register
def _stop_at_exit():
    """A Tracker started and never stopped is stopped when the interpreter
    exits, so that its capture is whole (symbols, trailer) when the program
    ends; without this the receiver saw the stream cut off."""
    tracker = _active
    if tracker is not None and not tracker._forked_child():
        tracker.stop()


def _refuse_unsupported(follow_fork, live_mode, threads):
    """Options of the issue's interface that the engine does not do yet:
    said plainly rather than ignored."""
    if follow_fork:
        raise NotImplementedError("memattach: Tracker(follow_fork=True) is not supported yet (child processes "
                                  "are not tracked in-process); track a process tree with `memattach run --follow-fork` instead")
    if live_mode:
        raise NotImplementedError("memattach: Tracker(live_mode=True) is not supported yet; "
                                  "watch the process with `memattach --pid PID` instead")
    if threads == "current":
        raise NotImplementedError("memattach: Tracker(threads='current') is not supported yet (a Tracker records "
                                  "every thread of the process); filter afterwards with `memattach report "
                                  "--thread TID|NAME`")
    if threads != "all":
        raise ValueError("memattach: threads must be 'all' or 'current', not %r" % (threads,))


class Tracker:
    """Records every allocation of this process into `destination` (a
    capture for `memattach report`) between start() and stop(), or for the
    body of a `with` block."""

    def __init__(self, destination, *, native_traces=False, trace_python_allocators=False,
                 follow_fork=False, live_mode=False, native_depth=64, overwrite=False, threads="all",
                 sample=None):
        _refuse_unsupported(follow_fork, live_mode, threads)
        if not 1 <= int(native_depth) <= 256:
            raise ValueError("memattach: native_depth must be between 1 and 256, not %r" % (native_depth,))
        self.destination = os.fspath(destination)
        self.native_traces = native_traces
        self.trace_python_allocators = trace_python_allocators
        self.native_depth = int(native_depth)
        self.overwrite = overwrite
        self.sample = _sample_bytes(sample)
        self._proc = None
        self._lib = None
        self._final = None
        self._talk = threading.Lock()   # one conversation with the receiver at a time
        self._pid = None                # the process that started it

    # -- start ---------------------------------------------------------
    def _check_can_start(self):
        if getattr(_local, "tracker", None) is not None:
            raise RuntimeError("memattach: a Tracker is already active in this thread (writing %s); "
                               "nested trackers are not supported: stop it first"
                               % _local.tracker.destination)
        if self._proc is not None:
            raise RuntimeError("memattach: this Tracker was already started; make a new one")
        if os.path.lexists(self.destination) and not self.overwrite:
            raise FileExistsError(errno.EEXIST, "memattach: the capture file already exists; "
                                  "pass overwrite=True to replace it", self.destination)

    def _spawn_receiver(self):
        cmd = [find_cli(), "receive", "-o", self.destination, "--pid", str(os.getpid())]
        # its own session: a Ctrl-C meant for this program must not end the capture
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      start_new_session=True, close_fds=True)
        info = {}
        for _ in range(2):
            line = self._proc.stdout.readline().decode("utf-8", "replace")
            key, _, value = line.rstrip("\n").partition(" ")
            info[key] = value
        if "socket" not in info or "agent" not in info:
            rc = self._proc.wait()
            self._proc = None
            raise RuntimeError("memattach: the receiver (%s receive) failed to start (exit %d); "
                               "see its message above" % (cmd[0], rc))
        return info["socket"], info["agent"]

    def _config(self, socket_path):
        cfg = "socket=%s;depth=%d;attached=1;inproc=1" % (socket_path, self.native_depth)
        if self.trace_python_allocators:
            cfg += ";pyalloc=1"
        if self.native_traces:
            cfg += ";pynative=1"
        if self.sample:
            cfg += ";sample=%d" % self.sample
            seed = os.environ.get("MEMATTACH_SAMPLE_SEED", "")
            if seed.strip():
                cfg += ";seed=%d" % int(seed, 0)
        return cfg.encode()

    def start(self):
        global _active
        self._check_can_start()
        with _active_lock:
            if _active is not None:
                raise RuntimeError("memattach: another Tracker is active in this process (writing %s, "
                                   "started in another thread); one Tracker at a time per process is "
                                   "supported: stop it first" % _active.destination)
            _active = self
        try:
            if self.overwrite and os.path.lexists(self.destination):
                os.unlink(self.destination)
            socket_path, agent = self._spawn_receiver()
            self._lib = _load_agent(agent)
            r = self._lib.memattach_agent_start(self._config(socket_path))
            if r < 0:
                self._proc.kill()
                self._proc.wait()
                self._proc = None
                raise RuntimeError("memattach: the agent did not start: %s%s" % (
                    os.strerror(-r),
                    " (is this process already tracked, e.g. under `memattach run`?)"
                    if -r == errno.EALREADY else ""))
        except BaseException:
            with _active_lock:
                _active = None
            raise
        _local.tracker = self
        self._pid = os.getpid()
        return self

    def _forked_child(self):
        """True in a child forked while tracking: its allocations are not
        recorded (the agent goes inert there) and the capture is the parent's."""
        return self._pid is not None and os.getpid() != self._pid

    # -- stats ---------------------------------------------------------
    def _read_line(self, want):
        while True:
            line = self._proc.stdout.readline().decode("utf-8", "replace")
            if not line:
                return None
            key, _, rest = line.partition(" ")
            if key == "final":
                self._final = json.loads(rest)
                if want == "final":
                    return self._final
            elif key == "stats" and want != "final":
                sid, _, body = rest.partition(" ")
                if int(sid) == want:
                    return json.loads(body)

    def stats(self):
        """The totals now (exact for every allocation made before the call,
        by any thread), or at the end once stopped (with leaked_bytes).
        Any thread may call it."""
        with self._talk:
            return self._stats()

    def _stats(self):
        if self._forked_child():
            raise RuntimeError("memattach: this Tracker belongs to process %d; a forked child is not "
                               "tracked (follow_fork is not supported yet)" % self._pid)
        if self._final is not None:
            return Stats(self._final, True)
        if self._proc is None:
            raise RuntimeError("memattach: this Tracker was never started")
        sid = next(_sync_ids)
        r = self._lib.memattach_agent_sync(sid)
        totals = self._read_line(sid) if r == 0 else None
        if totals is None:
            raise RuntimeError("memattach: the capture ended early (the receiver is gone: %s)"
                               % os.strerror(-r) if r < 0 else "memattach: the receiver ended early")
        return Stats(totals, False)

    # -- stop ----------------------------------------------------------
    def stop(self):
        global _active
        if self._proc is None or self._final is not None or self._forked_child():
            return   # in a forked child: the parent ends the capture
        try:
            with self._talk:
                self._lib.memattach_agent_stop()
                self._read_line("final")
                rc = self._proc.wait()
                self._proc.stdout.close()
        finally:
            if getattr(_local, "tracker", None) is self:
                _local.tracker = None
            with _active_lock:
                if _active is self:
                    _active = None
        if rc != 0 or self._final is None:
            raise RuntimeError("memattach: the capture %s may be incomplete (the receiver exited %d)"
                               % (self.destination, rc))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


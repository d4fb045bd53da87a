"""Tracker: the agent started inside this process (no ptrace).

Every Tracker of the process is a capture cut from the stream of one
agent session (_hub.py): its own window (from start() to stop()) and its
own threads (all, or threads="current": the thread that started it and
the threads it starts).  stats() asks the agent for a Tick that covers
every allocation made so far (memattach_agent_sync) and reads the
tracker's totals at that Tick.  See DESIGN.md "In-process use from
Python"."""
import atexit
import errno
import os
import tempfile
import threading

from . import _hub
from ._units import parse_size

_local = threading.local()
_active = set()              # the Trackers running in this process


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
    for tracker in sorted(_active, key=lambda t: -t._id):
        if not tracker._forked_child():
            tracker.stop()


def _check_threads(threads):
    if threads not in ("all", "current"):
        raise ValueError("memattach: threads must be 'all' or 'current', not %r" % (threads,))


class Tracker:
    """Records every allocation of this process into `destination` (a
    capture for `memattach report`) between start() and stop(), or for the
    body of a `with` block."""

    # start() waits for the receiver's symbol prewarm (DESIGN.md): the
    # tracked code then runs with nothing of memattach's beside it.  The
    # pytest plugin's windows are single tests: they start without it.
    _warm_start = True

    def __init__(self, destination, *, native_traces=False, trace_python_allocators=False,
                 follow_fork=False, live_mode=False, native_depth=64, overwrite=False, threads="all",
                 sample=None):
        _check_threads(threads)
        if not 1 <= int(native_depth) <= 256:
            raise ValueError("memattach: native_depth must be between 1 and 256, not %r" % (native_depth,))
        self.destination = os.fspath(destination)
        self.native_traces = native_traces
        self.trace_python_allocators = trace_python_allocators
        self.native_depth = int(native_depth)
        self.overwrite = overwrite
        self.sample = _sample_bytes(sample)
        self.follow_fork = bool(follow_fork)
        self.live_mode = bool(live_mode)
        self.threads = threads
        self.live_address = None        # live_mode: where `memattach live --connect` goes
        self._hub = None
        self._id = None                 # the receiver's number for it
        self._opener = 0                # threads="current": the starting thread's tid
        self._live_path = None
        self._final = None
        self._pid = None                # the process that started it

    # -- start ---------------------------------------------------------
    def _check_can_start(self):
        if getattr(_local, "tracker", None) is not None:
            raise RuntimeError("memattach: a Tracker is already active in this thread (writing %s); "
                               "nested trackers are not supported: stop it first"
                               % _local.tracker.destination)
        if self._id is not None:
            raise RuntimeError("memattach: this Tracker was already started; make a new one")
        if os.path.lexists(self.destination) and not self.overwrite:
            raise FileExistsError(errno.EEXIST, "memattach: the capture file already exists; "
                                  "pass overwrite=True to replace it", self.destination)

    def _config(self, socket_path):
        cfg = "socket=%s;depth=%d;attached=1;inproc=1" % (socket_path, self.native_depth)
        if self.trace_python_allocators:
            cfg += ";pyalloc=1"
        if self.native_traces:
            cfg += ";pynative=1"
        if self.follow_fork:
            cfg += ";follow=1"
        if self.sample:
            cfg += ";sample=%d" % self.sample
            seed = os.environ.get("MEMATTACH_SAMPLE_SEED", "")
            if seed.strip():
                cfg += ";seed=%d" % int(seed, 0)
        return cfg.encode()

    def _agent_options(self):
        """What the agent is started with: the first tracker of the process
        decides, a later one must agree (one agent, one configuration)."""
        return (self.native_traces, self.trace_python_allocators, self.native_depth, self.sample,
                self.follow_fork)

    def _join(self, hub):
        if hub.config != self._agent_options():
            names = ("native_traces", "trace_python_allocators", "native_depth", "sample", "follow_fork")
            diff = ", ".join("%s=%r" % (n, v) for n, v, w in zip(names, self._agent_options(), hub.config)
                             if v != w)
            raise RuntimeError("memattach: another Tracker is active in this process with other agent "
                               "options (this one has %s); trackers active at once share one agent: "
                               "give them the same options" % diff)
        return hub.open(self, first=False)

    def _first(self):
        hub = _hub.Hub(self._agent_options(), self.follow_fork)
        try:
            tid = hub.open(self, first=True)
            hub.start_agent(self._config(hub.socket))
            if self._warm_start:
                hub.warm()
        except BaseException:
            if hub.proc.poll() is None:
                hub.proc.kill()
                hub.proc.wait()
            raise
        _hub.current = hub
        return hub, tid

    def start(self):
        self._check_can_start()
        self._opener = threading.get_native_id() if self.threads == "current" else 0
        if self.live_mode:
            self._live_path = os.path.join(tempfile.gettempdir(), "memattach-live-%d-%d.sock"
                                           % (os.getpid(), id(self) & 0xffffff))
            if any(c.isspace() for c in self._live_path):
                raise ValueError("memattach: live_mode needs a temporary directory without spaces "
                                 "(TMPDIR=%s); set TMPDIR" % tempfile.gettempdir())
            self.live_address = self._live_path
        with _hub.LOCK:
            if self.overwrite and os.path.lexists(self.destination):
                os.unlink(self.destination)
            hub = _hub.current
            if hub is None:
                hub, self._id = self._first()
            else:
                self._id = self._join(hub)
            self._hub = hub
        _active.add(self)
        _local.tracker = self
        self._pid = os.getpid()
        return self

    def _forked_child(self):
        """True in a child forked while tracking: the capture is the
        parent's (with follow_fork the child's allocations go to a capture
        of its own, ended when it exits)."""
        return self._pid is not None and os.getpid() != self._pid

    # -- stats ---------------------------------------------------------
    def stats(self):
        """The totals now (exact for every allocation made before the call
        by the threads it records), or at the end once stopped (with
        leaked_bytes).  Any thread may call it."""
        if self._forked_child():
            raise RuntimeError("memattach: this Tracker belongs to process %d; a forked child is not "
                               "tracked by it (follow_fork=True gives the child a capture of its own, "
                               "%s.<pid>, to read once it has exited)" % (self._pid, self.destination))
        with _hub.LOCK:
            if self._final is not None:
                return Stats(self._final, True)
            if self._hub is None:
                raise RuntimeError("memattach: this Tracker was never started")
            if self._id in self._hub.finals:   # the agent's stream ended (the process is exiting)
                return Stats(self._hub.finals[self._id], False)
            return Stats(self._hub.stats(self._id), False)

    # -- stop ----------------------------------------------------------
    def stop(self):
        if self._hub is None or self._final is not None or self._forked_child():
            return   # in a forked child: the parent ends the capture
        try:
            with _hub.LOCK:
                self._final = self._hub.close(self._id)
        finally:
            if getattr(_local, "tracker", None) is self:
                _local.tracker = None
            _active.discard(self)
        if self._final is None:
            raise RuntimeError("memattach: the capture %s may be incomplete (the receiver ended early)"
                               % self.destination)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


"""MemoryMonitor: the loop Memray users write around `tracker.stats()` —
check current_memory every so often and keep a profile when it is too high.

    monitor = MemoryMonitor("over.memcap", "500 MB", interval=60)
    monitor.start()          # tracks the whole process from now on
    ...
    monitor.stop()

A thread of its own owns the Tracker and reads stats() every `interval`
seconds (or when check() asks). The first time current_memory exceeds the
threshold it stops the tracker, which finishes and symbolizes the capture
(everything since start(), its leaks view = what was live then), calls
on_exceed(path, stats) and ends, like `memattach --dump-on-threshold`."""
import threading

from ._tracker import Tracker
from ._units import parse_size


class MemoryMonitor:

    def __init__(self, destination, threshold, *, interval=60.0, on_exceed=None, **tracker_options):
        self.threshold = parse_size(threshold)
        self.interval = float(interval)
        self.on_exceed = on_exceed
        self.last = None          # the Stats of the latest check
        self.exceeded = None      # the Stats at the crossing, once it happened
        self._tracker = Tracker(destination, **tracker_options)
        self.destination = self._tracker.destination
        self._cond = threading.Condition()
        self._asked = self._done = 0
        self._stopping = False
        self._error = None
        self._thread = None

    def start(self):
        """Starts tracking (in the monitor's thread); raises what Tracker.start raises."""
        if self._thread is not None:
            raise RuntimeError("memattach: this MemoryMonitor was already started")
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name="memattach-monitor",
                                        daemon=True)
        self._thread.start()
        started.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self

    def check(self):
        """One check now, made by the monitor's thread; returns its Stats
        (exact for every allocation made before the call)."""
        if self._thread is None:
            raise RuntimeError("memattach: this MemoryMonitor was not started; call start() first")
        with self._cond:
            self._asked += 1
            want = self._asked
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._done >= want or not self._thread.is_alive())
        if self._error is not None:
            raise self._error
        return self.last

    def stop(self):
        """Ends monitoring; the capture is finished if it was not already."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _run(self, started):
        try:
            self._tracker.start()
        except BaseException as e:
            self._error = e
            started.set()
            return
        started.set()
        try:
            self._loop()
        except BaseException as e:
            self._error = e
        finally:
            try:
                self._tracker.stop()
            finally:
                with self._cond:
                    self._done = self._asked
                    self._cond.notify_all()

    def _loop(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._asked > self._done or self._stopping, self.interval)
                if self._stopping:
                    return
                asked = self._asked
            s = self._tracker.stats()
            self.last = s
            over = s.current_memory > self.threshold
            if over:
                self._tracker.stop()
                self.exceeded = s
            with self._cond:
                self._done = asked
                self._cond.notify_all()
            if over:
                if self.on_exceed is not None:
                    self.on_exceed(self.destination, s)
                return

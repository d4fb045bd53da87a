"""pytest plugin: `pytest -p memattach.pytest_plugin --memattach`.

    @pytest.mark.limit_memory("24 MB")   # peak of the test's own allocations
    @pytest.mark.limit_leaks("1 MB")     # still live at its end, after gc.collect()

With --memattach every test runs under a Tracker. A test over its limit
fails with the limit, the measured value and the locations that allocated
most (file:line), from the test's capture. --memattach-bin-path DIR keeps
the captures; --most-allocations N lists the N tests that allocated most.
Under pytest-xdist each worker tracks its own tests and sends the totals
to the controller with the test's report (user_properties)."""
import functools
import gc
import os
import re
import shutil
import tempfile

import pytest

from ._reader import top_locations
from ._tracker import Tracker
from ._units import parse_size

_TOP = 5
_PROP = "memattach"   # the user_properties key carrying a test's totals
_results = []         # (nodeid, totals) of the session's tracked tests


def pytest_addoption(parser):
    group = parser.getgroup("memattach")
    group.addoption("--memattach", action="store_true", default=False,
                    help="track each test's memory with memattach; enforce limit_memory / limit_leaks")
    group.addoption("--memattach-bin-path", metavar="DIR", default=None,
                    help="keep each test's capture in DIR (one .memcap per test, named after its id)")
    group.addoption("--most-allocations", metavar="N", type=int, default=5,
                    help="at the end, list the N tests that allocated the most bytes (default 5, as "
                         "Memray's plugin; 0: all)")


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(size): fail when the test's peak memory exceeds size")
    config.addinivalue_line("markers", "limit_leaks(size): fail when the test leaves more than size live")
    if config.getoption("most_allocations") < 0:
        raise pytest.UsageError("memattach: --most-allocations must be 0 (all) or more")
    del _results[:]   # one session's (pytester may run several in a process)


def _fmt(n):
    return "{:,} B ({:.2f} MB)".format(n, n / 1000 ** 2)


def _message(kind, limit_text, limit, value, rows):
    what = "peak memory" if kind == "limit_memory" else "memory left live (leaked)"
    lines = ["memattach: %s(%r) exceeded: %s %s > limit %s" % (kind, limit_text, what, _fmt(value), _fmt(limit)),
             "top allocating locations (%s):" % ("live at the end" if kind == "limit_leaks" else "at the peak")]
    for loc in rows:
        lines.append("    %s  %s  %s" % ("{:,} B".format(loc.own_bytes).rjust(16), loc.where, loc.function))
    return "\n".join(lines)


def _limits(item):
    limits = {}
    for kind in ("limit_memory", "limit_leaks"):
        m = item.get_closest_marker(kind)
        if m is not None:
            text = m.args[0] if m.args else m.kwargs.get("size")
            limits[kind] = (text, parse_size(text))
    return limits


def _run_tracked(item, func, limits, path):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        leaks = "limit_leaks" in limits
        tracker = Tracker(path, overwrite=True, trace_python_allocators=leaks)
        tracker._warm_start = False   # a test is short: its stop() opens what it needs
        with tracker:
            result = func(*args, **kwargs)
            if leaks:
                gc.collect()
        stats = tracker.stats()
        item.user_properties.append((_PROP, {
            "total_bytes_allocated": stats.total_bytes_allocated,
            "total_allocations": stats.total_allocations, "peak_memory": stats.peak_memory,
            "leaked_bytes": stats.leaked_bytes}))
        measured = {"limit_memory": stats.peak_memory, "limit_leaks": stats.leaked_bytes}
        for kind, (text, limit) in limits.items():
            if measured[kind] > limit:
                memory = "leaks" if kind == "limit_leaks" else "peak"
                rows = top_locations(path, _TOP, memory=memory)
                pytest.fail(_message(kind, text, limit, measured[kind], rows), pytrace=False)
        return result
    return wrapper


def _kept_path(bin_dir, nodeid):
    """A file name from the test's id (what is not [A-Za-z0-9_.-] becomes _)."""
    return os.path.join(bin_dir, re.sub(r"[^A-Za-z0-9_.-]", "_", nodeid) + ".memcap")


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    config = pyfuncitem.config
    if not config.getoption("memattach"):
        yield
        return
    bin_dir = config.getoption("memattach_bin_path")
    if bin_dir:
        os.makedirs(bin_dir, exist_ok=True)
        tmp, path = None, _kept_path(bin_dir, pyfuncitem.nodeid)
    else:
        tmp = tempfile.mkdtemp(prefix="memattach-test-")
        path = os.path.join(tmp, "test.memcap")
    original = pyfuncitem.obj
    pyfuncitem.obj = _run_tracked(pyfuncitem, original, _limits(pyfuncitem), path)
    try:
        yield
    finally:
        pyfuncitem.obj = original
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def pytest_runtest_logreport(report):
    """Collects each test's totals (on the controller too, under xdist)."""
    if report.when != "call":
        return
    for key, value in getattr(report, "user_properties", ()):
        if key == _PROP:
            _results.append((report.nodeid, value))


def pytest_terminal_summary(terminalreporter, config):
    n = config.getoption("most_allocations")
    if not config.getoption("memattach") or hasattr(config, "workerinput") or not _results:
        return
    ranked = sorted(_results, key=lambda r: (-r[1]["total_bytes_allocated"], r[0]))[:n or None]
    terminalreporter.write_sep("=", "memattach: the %d tests that allocated most" % len(ranked))
    for nodeid, v in ranked:
        terminalreporter.write_line("%s: %s B allocated in %s allocations (peak %s B)" % (
            nodeid, "{:,}".format(v["total_bytes_allocated"]), "{:,}".format(v["total_allocations"]),
            "{:,}".format(v["peak_memory"])))

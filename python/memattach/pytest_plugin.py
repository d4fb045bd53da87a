"""pytest plugin: `pytest -p memattach.pytest_plugin --memattach`.

    @pytest.mark.limit_memory("24 MB")   # peak of the test's own allocations
    @pytest.mark.limit_leaks("1 MB")     # still live at its end, after gc.collect()

A test over its limit fails with the limit, the measured value and the
locations that allocated most (file:line), from the test's capture."""
import functools
import gc
import os
import re
import subprocess
import tempfile

import pytest

from ._locate import find_cli
from ._tracker import Tracker

_UNITS = {"B": 1, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4,
          "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4}
_TOP = 5


def parse_size(text):
    """A size in the CLI's units: B, KB, MB... (powers of 1000), KiB, MiB...
    (powers of 1024); decimals allowed."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else None
    if not m or (unit and unit not in _UNITS):
        raise ValueError("memattach: bad size %r; use a number with B, KB, MB, GB, KiB, MiB or GiB" % (text,))
    return int(float(m.group(1)) * _UNITS[unit or "B"])


def pytest_addoption(parser):
    group = parser.getgroup("memattach")
    group.addoption("--memattach", action="store_true", default=False,
                    help="track each test's memory with memattach; enforce limit_memory / limit_leaks")


def pytest_configure(config):
    config.addinivalue_line("markers", "limit_memory(size): fail when the test's peak memory exceeds size")
    config.addinivalue_line("markers", "limit_leaks(size): fail when the test leaves more than size live")


def _top_locations(path, leaks):
    """The rows of `memattach report summary` as (bytes, 'file:line', function)."""
    cmd = [find_cli(), "report", "summary", "--max", str(_TOP), path]
    if leaks:
        cmd.insert(3, "--leaks")
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout.decode("utf-8", "replace")
    rows, table = [], False
    for line in out.splitlines():
        if line.rstrip().endswith("location"):
            table = True
            continue
        f = line.split()
        if table and len(f) >= 7 and f[0].replace(",", "").isdigit():
            rows.append((int(f[0].replace(",", "")), f[-1], " ".join(f[5:-1])))
    return rows


def _fmt(n):
    return "{:,} B ({:.2f} MB)".format(n, n / 1000 ** 2)


def _message(kind, limit_text, limit, value, rows):
    what = "peak memory" if kind == "limit_memory" else "memory left live (leaked)"
    lines = ["memattach: %s(%r) exceeded: %s %s > limit %s" % (kind, limit_text, what, _fmt(value), _fmt(limit)),
             "top allocating locations (%s):" % ("live at the end" if kind == "limit_leaks" else "at the peak")]
    for nbytes, where, func in rows:
        lines.append("    %s  %s  %s" % ("{:,} B".format(nbytes).rjust(16), where, func))
    return "\n".join(lines)


def _run_tracked(func, limits, path):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        leaks = "limit_leaks" in limits
        with Tracker(path, overwrite=True, trace_python_allocators=leaks) as tracker:
            result = func(*args, **kwargs)
            if leaks:
                gc.collect()
        stats = tracker.stats()
        measured = {"limit_memory": stats.peak_memory, "limit_leaks": stats.leaked_bytes}
        for kind, (text, limit) in limits.items():
            if measured[kind] > limit:
                rows = _top_locations(path, kind == "limit_leaks")
                pytest.fail(_message(kind, text, limit, measured[kind], rows), pytrace=False)
        return result
    return wrapper


@pytest.hookimpl(hookwrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    limits = {}
    if pyfuncitem.config.getoption("memattach"):
        for kind in ("limit_memory", "limit_leaks"):
            m = pyfuncitem.get_closest_marker(kind)
            if m is not None:
                text = m.args[0] if m.args else m.kwargs.get("size")
                limits[kind] = (text, parse_size(text))
    if not limits:
        yield
        return
    fd, path = tempfile.mkstemp(prefix="memattach-test-", suffix=".memcap")
    os.close(fd)
    original = pyfuncitem.obj
    pyfuncitem.obj = _run_tracked(original, limits, path)
    try:
        yield
    finally:
        pyfuncitem.obj = original
        os.unlink(path)

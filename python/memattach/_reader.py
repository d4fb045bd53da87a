"""Reading a capture from Python: totals and top locations, the numbers of
`memattach report stats --json` and `report summary --json` (the CLI does
the analysis; this only runs it and wraps the JSON)."""
import json
import os
import subprocess
from collections import namedtuple

from ._locate import find_cli
from ._tracker import Stats

_MEMORY = ("peak", "leaks", "total", "temporary")
_SORT = ("own", "total", "count")


class Location(namedtuple("Location", "function file line module python own_bytes own_count "
                                      "total_bytes total_count")):
    """One row of `report summary --json`: own = allocated by this line
    itself, total = with its callees."""
    __slots__ = ()

    @property
    def where(self):
        """`file:line` (the module for native frames without line info)."""
        if self.file:
            return "%s:%d" % (self.file, self.line)
        return self.module or "?"


def _run_report(args):
    cmd = [find_cli(), "report"] + args
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # 20: a damaged capture, still reported (the warning is on stderr)
    if p.returncode not in (0, 20):
        raise RuntimeError(p.stderr.decode("utf-8", "replace").strip() or
                           "memattach: `%s` exited %d" % (" ".join(cmd), p.returncode))
    return json.loads(p.stdout)


class FileReader:
    """A capture file, read through `memattach report`:

        r = FileReader("memory_profile.bin")
        r.stats.peak_memory
        for loc in r.top_locations(5, memory="leaks"):
            print(loc.own_bytes, loc.where, loc.function)
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError("memattach: no capture file at %s" % self.path)
        self._metadata = None

    @property
    def metadata(self):
        """Everything `report stats --json` gives (see README's counting rules)."""
        if self._metadata is None:
            self._metadata = _run_report(["stats", "--json", self.path])
        return self._metadata

    @property
    def stats(self):
        """The totals as a Stats (leaked_bytes: live at the end of the capture)."""
        d = dict(self.metadata, live_bytes=self.metadata["leaked_bytes"])
        return Stats(d, True)

    def top_locations(self, n=10, *, memory="peak", sort="own", native=False, thread=None):
        """The n locations that allocated most: memory is "peak" (live at the
        high-water mark), "leaks" (live at the end), "total" or "temporary";
        sort by "own", "total" bytes or "count"."""
        if memory not in _MEMORY:
            raise ValueError("memattach: memory must be one of %s, not %r" % (", ".join(_MEMORY), memory))
        if sort not in _SORT:
            raise ValueError("memattach: sort must be one of %s, not %r" % (", ".join(_SORT), sort))
        if int(n) < 1:
            raise ValueError("memattach: n must be at least 1, not %r" % (n,))
        args = ["summary", "--json", "--%s" % memory, "--sort", sort, "--max", str(int(n))]
        if native:
            args.append("--native")
        if thread is not None:
            args += ["--thread", str(thread)]
        rows = _run_report(args + [self.path])["top"]
        return [Location(r["function"], r["file"], r["line"], r["module"], r["python"], r["own_bytes"],
                         r["own_count"], r["total_bytes"], r["total_count"]) for r in rows]


def stats_from(path):
    """The totals of a capture file (`memattach report stats --json`)."""
    return FileReader(path).stats


def top_locations(path, n=10, **options):
    """FileReader(path).top_locations(n, ...)."""
    return FileReader(path).top_locations(n, **options)

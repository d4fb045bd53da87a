# checker.py — what the Tracker checks (trackers_checks.py,
# follow_checks.py) share: one line per check, "ok: ..." or "FAIL: ...",
# and a capture's big allocations, read with `memattach report stats`.
import json
import os
import subprocess

MIN = 2_000_000   # above the interpreter's own blocks (pymalloc's arenas are 1 MiB)
_failed = 0


def check(ok, what):
    global _failed
    print(("ok: " if ok else "FAIL: ") + what)
    _failed |= not ok


def status():
    """The script's exit status: 1 when a check failed."""
    return 1 if _failed else 0


def big(path):
    """(bytes, count, leaked bytes, complete) of the capture's allocations
    >= MIN; Nones when the capture does not read."""
    out = subprocess.run([os.environ["MEMATTACH_BIN"], "report", "stats", "--json", "--min-size", str(MIN), path],
                         stdout=subprocess.PIPE).stdout
    j = json.loads(out or b"{}")
    return j.get("total_bytes_allocated"), j.get("total_allocations"), j.get("leaked_bytes"), j.get("complete")

"""Where the memattach CLI is: $MEMATTACH_BIN, the build tree this package
sits in, the bindir `make install` recorded, then $PATH.  (The agent's path
comes from the CLI itself: `memattach receive` says which one it found.)"""
import os
import shutil

_here = os.path.dirname(os.path.abspath(__file__))


def _installed_bindir():
    try:
        from ._paths import BINDIR  # written by `make install`
    except ImportError:
        return None
    return BINDIR


def find_cli():
    env = os.environ.get("MEMATTACH_BIN")
    if env:
        if os.access(env, os.X_OK):
            return env
        raise FileNotFoundError(
            "memattach: MEMATTACH_BIN=%s is not an executable; point it at the memattach program" % env)
    candidates = [os.path.join(_here, os.pardir, os.pardir, "memattach")]
    bindir = _installed_bindir()
    if bindir:
        candidates.append(os.path.join(bindir, "memattach"))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.normpath(c)
    found = shutil.which("memattach")
    if found:
        return found
    raise FileNotFoundError(
        "memattach: the memattach program was not found (looked at $MEMATTACH_BIN, the build tree, "
        "the installed bindir and $PATH); install memattach or set MEMATTACH_BIN")

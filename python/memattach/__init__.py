"""memattach from Python: `with Tracker("out.memcap"): ...` records every
allocation of this process into a capture that `memattach report` reads;
FileReader / stats_from / top_locations read one back; MemoryMonitor
dumps a capture when memory crosses a line; `%load_ext memattach` gives
the notebook magics."""
from ._tracker import Stats, Tracker
from ._reader import FileReader, Location, stats_from, top_locations
from ._monitor import MemoryMonitor

__all__ = ["Tracker", "Stats", "stats_from", "FileReader", "Location", "top_locations",
           "MemoryMonitor", "load_ipython_extension"]


def load_ipython_extension(ipython):
    """`%load_ext memattach`: %%memattach_flamegraph and %%memattach_summary."""
    from ._ipython import load_ipython_extension as load
    load(ipython)

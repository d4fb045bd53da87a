"""memattach from Python: `with Tracker("out.memcap"): ...` records every
allocation of this process into a capture that `memattach report` reads."""
from ._tracker import Stats, Tracker, stats_from

__all__ = ["Tracker", "Stats", "stats_from"]

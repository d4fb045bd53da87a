"""Sizes in the CLI's units (cli/util/parse_units.c): B, KB, MB, GB, TB are
powers of 1000; KiB, MiB, GiB, TiB powers of 1024; decimals allowed."""
import re

_UNITS = {"B": 1, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3, "TB": 1000 ** 4,
          "KIB": 1024, "MIB": 1024 ** 2, "GIB": 1024 ** 3, "TIB": 1024 ** 4}


def parse_size(text):
    """Bytes in `text` ("24 MB", "1.5GiB", "512"); an int is taken as is."""
    if isinstance(text, int) and text >= 0:
        return text
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    unit = m.group(2).upper() if m else None
    if not m or (unit and unit not in _UNITS):
        raise ValueError("memattach: bad size %r; use a number with B, KB, MB, GB, KiB, MiB or GiB" % (text,))
    return int(float(m.group(1)) * _UNITS[unit or "B"])

#!/usr/bin/env python3
"""check_names.py REPORT.json PATTERN — PATTERN must equal the name of a
frame of a leaked stack; "*" in PATTERN stands for a path prefix (no spaces
or parentheses), everything else is literal."""
import json
import re
import sys


def main():
    report, pattern = sys.argv[1], sys.argv[2]
    rx = re.compile("^" + r"[^\s()]*".join(re.escape(p) for p in pattern.split("*")) + "$")
    with open(report) as f:
        data = json.load(f)
    names = [fr["name"] for st in data.get("top_leaks", []) for fr in st.get("frames", [])]
    if any(rx.match(n) for n in names):
        return 0
    print("FAIL: no frame named %r; the leaked stacks' frames are:" % pattern)
    for n in names:
        print("    " + n)
    return 1


if __name__ == "__main__":
    sys.exit(main())

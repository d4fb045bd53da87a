#!/usr/bin/env python3
"""compare.py TRUTH_OUTPUT REPORT_JSON — compares a target's own truth (the
last line of its stdout that is a JSON object) with `memattach report stats
--json`, key by key, exactly.  Prints a table of the differences and exits 1
when there is any, 0 when all agree, 2 when an input is unreadable."""
import json
import sys

KEYS = ["total_allocations", "total_frees", "total_bytes_allocated",
        "peak_bytes", "leaked_bytes", "leaked_allocations", "untracked_frees"]
# Kinds that allocate: a report entry for one of these that the truth does
# not list means events the target never made.
ALLOC_KINDS = {"malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
               "aligned_alloc", "memalign", "valloc", "pvalloc", "operator_new",
               "operator_new_array", "mmap", "mremap"}


def load_truth(path):
    truth = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                truth = json.loads(line)
    if truth is None:
        raise ValueError(f"{path}: the target printed no truth line")
    return truth


def main():
    if len(sys.argv) != 3:
        print("usage: compare.py TRUTH_OUTPUT REPORT_JSON", file=sys.stderr)
        return 2
    try:
        truth = load_truth(sys.argv[1])
        with open(sys.argv[2], encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    if not isinstance(report, dict):
        print("compare: the report is not a JSON object", file=sys.stderr)
        return 2

    rows = []  # (key, truth, report)
    for k in KEYS:
        if k in truth and report.get(k) != truth[k]:
            rows.append((k, truth[k], report.get(k, "(missing)")))
    if report.get("truncated") not in (False, 0):
        rows.append(("truncated", False, report.get("truncated", "(missing)")))
    rb = report.get("by_allocator")
    if not isinstance(rb, dict):
        rb = {}
        rows.append(("by_allocator", "object", report.get("by_allocator", "(missing)")))
    for kind, tv in truth.get("by_allocator", {}).items():
        rv = rb.get(kind)
        if not isinstance(rv, dict):
            rv = {}
        for f in ("count", "bytes"):
            got = rv.get(f, 0 if not rv else "(missing)")
            if got != tv[f]:
                rows.append((f"by_allocator.{kind}.{f}", tv[f], got))
    for kind, rv in rb.items():
        if kind in ALLOC_KINDS and kind not in truth.get("by_allocator", {}):
            if isinstance(rv, dict) and (rv.get("count") or rv.get("bytes")):
                rows.append((f"by_allocator.{kind}", "(none)", rv))

    if not rows:
        n = sum(1 for k in KEYS if k in truth)
        print(f"compare: all {n} totals and "
              f"{len(truth.get('by_allocator', {}))} allocator kinds agree")
        return 0
    print("compare: the report differs from the truth:")
    print(f"  {'key':38} {'truth':>16} {'report':>16} {'report-truth':>14}")
    for k, t, r in rows:
        d = r - t if isinstance(r, int) and isinstance(t, int) else ""
        print(f"  {k:38} {str(t):>16} {str(r):>16} {str(d):>14}")
    return 1


if __name__ == "__main__":
    sys.exit(main())

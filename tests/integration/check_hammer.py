#!/usr/bin/env python3
"""check_hammer.py MEMATTACH CAPTURE HOUT REPORT_JSON [ROUND...] — compares a
capture of tests/targets/hammer with what the hammer printed.

Exact: every counted thread of the listed rounds (the rounds run while
attached) has exactly its allocations and bytes in the report's per-thread
table, and `report stats --thread TID` (what that thread allocated) shows
exactly its allocations, frees, bytes and leaks; counted threads of other
rounds have nothing; leaks are the counted rounds' leaks plus at most one
block in hand per hammer.  (The per-thread table's "frees" also counts the
thread's munmaps of untracked ranges — glibc's own, one per new thread —
so there it may be one more than the truth.)
Bounded: a hammer thread (one block at a time, one size) shows bytes ==
allocations * size and allocations and frees differ by at most one.
Every thread with events must be a hammer or a counted thread.
The main thread, which creates the counted threads, may also free up to
NCOUNTED blocks that glibc allocated before the attach (new threads on
cached stacks get a bigger DTV once the agent's TLS module is loaded, and
the old one is freed): untracked frees, never allocations."""
import itertools
import json
import re
import subprocess
import sys

NCOUNTED = 4   # counted threads per round (tests/targets/hammer.c)


def main():
    memattach, cap, hout, rjson = sys.argv[1:5]
    rounds = {int(r) for r in sys.argv[5:]}
    hammers, counted = {}, {}
    main_tid = None
    for line in open(hout):
        m = re.match(r"ready (\d+)", line)
        if m:
            main_tid = int(m.group(1))
        m = re.match(r"hammer tid=(\d+) size=(\d+)", line)
        if m:
            hammers[int(m.group(1))] = int(m.group(2))
        m = re.match(r"counted round=(\d+) tid=(\d+) (.*)", line)
        if m:
            vals = dict(kv.split("=") for kv in m.group(3).split())
            counted[int(m.group(2))] = (int(m.group(1)), {k: int(v) for k, v in vals.items()})
    for r in rounds:
        if not any(rr == r for rr, _ in counted.values()):
            print(f"FAIL: the hammer printed no counted round {r}")
            return 1
    rep = json.load(open(rjson))
    threads = {t["tid"]: t for t in rep["threads"]}
    bad = []
    want_leaked = want_leaked_bytes = 0
    for tid, (r, v) in sorted(counted.items()):
        t = threads.get(tid)
        got = (t["allocations"], t["bytes"]) if t else (0, 0)
        want = (v["allocations"], v["bytes"]) if r in rounds else (0, 0)
        if got != want:
            bad.append(f"round {r} tid {tid}: per-thread (allocations, bytes) = {got}, truth {want}")
        if r not in rounds:
            if t and t["frees"]:
                bad.append(f"round {r} tid {tid} (not attached) has frees: {t}")
            continue
        if not t or not v["frees"] <= t["frees"] <= v["frees"] + 1:
            bad.append(f"round {r} tid {tid}: per-thread frees {t and t['frees']}, truth {v['frees']} (+1 munmap)")
        want_leaked += v["leaked"]
        want_leaked_bytes += v["leaked_bytes"]
        out = subprocess.run([memattach, "report", "stats", "--json", "--thread", str(tid), cap],
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            bad.append(f"report stats --thread {tid} exited {out.returncode}: {out.stderr.strip()}")
            continue
        f = json.loads(out.stdout)
        keys = [("total_allocations", "allocations"), ("total_frees", "frees"),
                ("total_bytes_allocated", "bytes"), ("leaked_allocations", "leaked"),
                ("leaked_bytes", "leaked_bytes")]
        got = {k: f[k] for k, _ in keys}
        want = {k: v[w] for k, w in keys}
        if got != want:
            bad.append(f"round {r} tid {tid}: stats --thread {got}, truth {want}")
    busy = 0
    for tid, size in sorted(hammers.items()):
        t = threads.get(tid)
        if not t:
            continue
        a, f, b = t["allocations"], t["frees"], t["bytes"]
        busy += a > 0
        if b != a * size:
            bad.append(f"hammer tid {tid} (size {size}): bytes {b} != allocations {a} * {size}")
        extra_frees = NCOUNTED if tid == main_tid else 0
        if not -1 <= f - a <= 1 + extra_frees:
            bad.append(f"hammer tid {tid}: allocations {a} and frees {f}: want frees - allocations "
                       f"in [-1, {1 + extra_frees}]")
    if rounds and busy == 0:
        bad.append("no hammer thread has events: the capture did not run while they hammered")
    for tid in threads:
        if tid not in hammers and tid not in counted:
            t = threads[tid]
            if t["allocations"] or t["frees"]:
                bad.append(f"unknown thread {tid} has events: {t}")
    if sum(t["allocations"] for t in threads.values()) != rep["total_allocations"]:
        bad.append("the per-thread allocations do not add up to total_allocations")
    extra = rep["leaked_allocations"] - want_leaked
    extra_bytes = rep["leaked_bytes"] - want_leaked_bytes
    sizes = sorted(hammers.values())
    if not 0 <= extra <= len(sizes) or extra_bytes not in {sum(c) for c in itertools.combinations(sizes, extra)}:
        bad.append(f"leaks: {rep['leaked_allocations']} blocks / {rep['leaked_bytes']} B; the counted "
                   f"rounds leaked {want_leaked} / {want_leaked_bytes} B, and at most one hammer block "
                   f"per thread (sizes {sizes}) may be in hand")
    if rep["untracked_frees"] > len(sizes) + NCOUNTED:
        bad.append(f"untracked_frees {rep['untracked_frees']} > {len(sizes)} + {NCOUNTED} "
                   "(one block in hand per hammer, old DTVs)")
    if rep.get("dropped_events"):
        bad.append(f"dropped_events {rep['dropped_events']}")
    for b in bad:
        print("FAIL: " + b)
    if bad:
        return 1
    n = sum(1 for r, _ in counted.values() if r in rounds)
    print(f"check_hammer: {n} counted threads exact (rounds {sorted(rounds)}), "
          f"{busy} hammer threads consistent, leaks {rep['leaked_allocations']} = {want_leaked} + {extra} in hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())

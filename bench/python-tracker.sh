#!/bin/bash
# python-tracker.sh [TOP] — the overhead of memattach.Tracker (the agent
# started in-process by the Python package) next to `memattach run` and
# untracked, on the Python overhead workload (tests/python/workload.py).
# The three are interleaved round by round (a load change hits all three);
# medians of $RUNS rounds.  "wall" and "cpu" are the workload's (inside the
# tracked region for Tracker); "start"/"stop" what Tracker.start() and stop()
# took (the receiver spawned, the agent loaded and patched; the capture
# drained and symbolized).  Numbers, not pass/fail.
set -u
top=$(cd "${1:-.}" && pwd)
wl="$top/tests/python/workload.py"
iters=${ITERS:-20000}
runs=${RUNS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MEMATTACH_BIN="$top/memattach" PYTHONPATH="$top/python"

# driver.py plain|tracker ITERS: "wall cpu start stop" of workload.main
# (cpu: the process's CPU time, the agent's thread included; less hurt by
# other load on the machine than wall time).
cat > "$tmp/driver.py" <<PY
import sys, time
sys.path.insert(0, "$top/tests/python")
import workload
t = None
if sys.argv[1] == "tracker":
    from memattach import Tracker
    t = Tracker("$tmp/t.memcap", overwrite=True)
a = time.perf_counter()
if t: t.start()
b, cb = time.perf_counter(), time.process_time()
workload.main(int(sys.argv[2]))
c, cc = time.perf_counter(), time.process_time()
if t: t.stop()
d = time.perf_counter()
print("%.3f %.3f %.3f %.3f" % (c - b, cc - cb, b - a, d - c))
PY

pythons=${PYTHONS:-"/usr/bin/python3 $(ls -d /root/.pyenv/versions/3.12.*/bin/python3 2>/dev/null | head -1)"}
for py in $pythons; do
	: > "$tmp/u"; : > "$tmp/r"; : > "$tmp/t"
	for _ in $(seq "$runs"); do
		"$py" "$tmp/driver.py" plain "$iters" | tail -1 >> "$tmp/u"
		"$top/memattach" run -q -o "$tmp/r.memcap" -- "$py" "$tmp/driver.py" plain "$iters" 2>/dev/null | tail -1 >> "$tmp/r"
		"$py" "$tmp/driver.py" tracker "$iters" | tail -1 >> "$tmp/t"
	done
	python3 - "$py" "$tmp/u" "$tmp/r" "$tmp/t" <<'PY'
import statistics, sys
py, u, r, t = sys.argv[1:]
med = lambda f, i: statistics.median(float(l.split()[i]) for l in open(f) if l.strip())
n = sum(1 for l in open(u) if l.strip())
for i, what in ((0, "wall"), (1, "cpu")):
    mu, mr, mt = med(u, i), med(r, i), med(t, i)
    print("%s: %s median of %d: untracked %.3f s, memattach run %.3f s (%.2fx), Tracker %.3f s (%.2fx)"
          % (py, what, n, mu, mr, mr / mu, mt, mt / mu))
print("%s: Tracker start %.1f ms, stop %.1f ms (medians)" % (py, 1000 * med(t, 2), 1000 * med(t, 3)))
PY
done

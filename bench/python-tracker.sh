#!/bin/bash
# python-tracker.sh [TOP] — the overhead of memattach.Tracker (the agent
# started in-process by the Python package) next to `memattach run` and
# untracked, on the Python overhead workload (tests/python/workload.py).
# The three are interleaved round by round (a load change hits all three);
# medians of $RUNS rounds.  "work" is the workload's own timer (for Tracker:
# inside the `with` block); "start"/"stop" what Tracker.start() and stop()
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

cat > "$tmp/tracked.py" <<PY
import sys, time
sys.path.insert(0, "$top/tests/python")
import workload
from memattach import Tracker
t = Tracker("$tmp/t.memcap", overwrite=True)
a = time.perf_counter(); t.start(); b = time.perf_counter()
workload.main(int(sys.argv[1]))
c = time.perf_counter(); t.stop(); d = time.perf_counter()
print("%.3f %.3f %.3f" % (c - b, b - a, d - c))
PY

pythons=${PYTHONS:-"/usr/bin/python3 $(ls -d /root/.pyenv/versions/3.12.*/bin/python3 2>/dev/null | head -1)"}
for py in $pythons; do
	: > "$tmp/u"; : > "$tmp/r"; : > "$tmp/t"
	for _ in $(seq "$runs"); do
		"$py" "$wl" "$iters" | tail -1 >> "$tmp/u"
		"$top/memattach" run -q -o "$tmp/r.memcap" -- "$py" "$wl" "$iters" 2>/dev/null | tail -1 >> "$tmp/r"
		"$py" "$tmp/tracked.py" "$iters" | tail -1 >> "$tmp/t"
	done
	python3 - "$py" "$tmp/u" "$tmp/r" "$tmp/t" <<'PY'
import statistics, sys
py, u, r, t = sys.argv[1:]
col = lambda f, i=0: [float(l.split()[i]) for l in open(f) if l.strip()]
mu, mr, mt = statistics.median(col(u)), statistics.median(col(r)), statistics.median(col(t))
print("%s: work median of %d: untracked %.3f s, memattach run %.3f s (%.2fx), Tracker %.3f s (%.2fx); "
      "Tracker start %.1f ms, stop %.1f ms" % (py, len(col(u)), mu, mr, mr / mu, mt, mt / mu,
      1000 * statistics.median(col(t, 1)), 1000 * statistics.median(col(t, 2))))
PY
done

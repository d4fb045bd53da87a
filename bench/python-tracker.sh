#!/bin/bash
# python-tracker.sh [TOP] — the overhead of memattach.Tracker (the agent
# started in-process by the Python package) next to `memattach run` and
# untracked, on the Python overhead workload (bench/python_workload.py at depth 14).
# The modes are interleaved round by round (a load change hits them all);
# medians of $RUNS rounds [min-max].  "wall" and "cpu" are the workload's (inside the
# tracked region for Tracker); "helper cpu" what the other process took over
# the same region (Tracker's receiver, run's CLI: neither is in "cpu"; both
# share the machine's cores with the program); "start"/"stop" what
# Tracker.start() and stop() took (the receiver spawned, the agent loaded
# and patched, the symbol prewarm of libc and the first stacks waited for;
# the capture analysed, drained and symbolized).
# BASE=DIR (another build tree, e.g. a worktree of main) adds its Tracker
# to the rounds, for a before/after in one run.  Numbers, not pass/fail.
set -u
top=$(cd "${1:-.}" && pwd)
base=${BASE:+$(cd "$BASE" && pwd)}
iters=${ITERS:-20000}
runs=${RUNS:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# driver.py plain|tracker ITERS: "wall cpu start stop helper" of
# python_workload.main (cpu: the process's CPU time, the agent's thread included;
# less hurt by other load on the machine than wall time; helper: the CPU
# time of the receiver, or of run's CLI, our parent, over the same region).
cat > "$tmp/driver.py" <<PY
import os, sys, time
sys.path.insert(0, "$top/bench")
import python_workload
# every mode imports the package: the same modules loaded, the same heap
from memattach import Tracker
t = None
if sys.argv[1] == "tracker":
    t = Tracker("$tmp/t.memcap", overwrite=True)

def helper_cpu():
    pid = t._hub.proc.pid if t else os.getppid()
    ns = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            ns += int(open("/proc/%d/task/%s/schedstat" % (pid, task)).read().split()[0])
        except OSError:
            pass
    return ns / 1e9

a = time.perf_counter()
if t: t.start()
b, cb, hb = time.perf_counter(), time.process_time(), helper_cpu()
python_workload.main(int(sys.argv[2]), 14)
c, cc, hc = time.perf_counter(), time.process_time(), helper_cpu()
if t: t.stop()
d = time.perf_counter()
print("%.3f %.3f %.3f %.3f %.3f" % (c - b, cc - cb, b - a, d - c, hc - hb))
PY

# one ROOT MODE: a line of driver.py with ROOT's CLI and package
one() {
	local root=$1 mode=$2
	export MEMATTACH_BIN="$root/memattach" PYTHONPATH="$root/python"
	case $mode in
	plain) "$py" "$tmp/driver.py" plain "$iters" ;;
	run) "$root/memattach" run -q -o "$tmp/r.memcap" -- "$py" "$tmp/driver.py" plain "$iters" 2>/dev/null ;;
	tracker) "$py" "$tmp/driver.py" tracker "$iters" ;;
	esac | tail -1
}

pythons=${PYTHONS:-"/usr/bin/python3 $(ls -d /root/.pyenv/versions/3.12.*/bin/python3 2>/dev/null | head -1)"}
for py in $pythons; do
	: > "$tmp/u"; : > "$tmp/r"; : > "$tmp/t"; : > "$tmp/b"
	for _ in $(seq "$runs"); do
		one "$top" plain >> "$tmp/u"
		one "$top" run >> "$tmp/r"
		one "$top" tracker >> "$tmp/t"
		[ -n "$base" ] && one "$base" tracker >> "$tmp/b"
	done
	python3 - "$py" "$tmp/u" "$tmp/r" "$tmp/t" "$tmp/b" <<'PY'
import statistics, sys
py, u, r, t, b = sys.argv[1:]
rows = lambda f: [l.split() for l in open(f) if l.strip()]
med = lambda f, i: statistics.median(float(x[i]) for x in rows(f) if len(x) > i)
col = lambda f, i: [float(x[i]) for x in rows(f) if len(x) > i]
# a median with its spread over the rounds: "0.330 s [0.301-0.412]"
ms = lambda f, i: "%.3f s [%.3f-%.3f]" % (med(f, i), min(col(f, i)), max(col(f, i)))
n = len(rows(u))
for i, what in ((0, "wall"), (1, "cpu")):
    mu, mr, mt = med(u, i), med(r, i), med(t, i)
    line = ("%s: %s median of %d: untracked %s, memattach run %s (%.2fx), Tracker %s (%.2fx)"
            % (py, what, n, ms(u, i), ms(r, i), mr / mu, ms(t, i), mt / mu))
    if rows(b):
        line += ", base Tracker %s (%.2fx)" % (ms(b, i), med(b, i) / mu)
    print(line)
line = "%s: helper cpu: run's CLI %s, Tracker's receiver %s" % (py, ms(r, 4), ms(t, 4))
if rows(b):
    line += ", base receiver %s" % ms(b, 4)
print(line)
print("%s: Tracker start %.1f ms, stop %.1f ms (medians)" % (py, 1000 * med(t, 2), 1000 * med(t, 3))
      + (", base start %.1f ms, stop %.1f ms" % (1000 * med(b, 2), 1000 * med(b, 3)) if rows(b) else ""))
PY
done

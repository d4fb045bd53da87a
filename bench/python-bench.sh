#!/bin/bash
# python-bench.sh — the Python overhead benchmark: a workload that builds
# and drops many dicts, lists and strings at a call depth of 15
# (tests/python/workload.py), run untracked, under `memattach run` (Python
# frames, the default) and under `memattach run --trace-python-allocators`,
# for every interpreter found.
#
# Two times per run, best of $RUNS: "work", the workload's own timer (what
# the service feels while tracked), and "wall", the whole command
# (interpreter start and exit, and for memattach the capture's end:
# draining, symbolizing, compressing).  Numbers, not pass/fail.
set -u
top=${1:-.}
ma="$top/memattach"
wl="$top/tests/python/workload.py"
iters=${ITERS:-20000}
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best "work wall" of $runs runs of "$@"
best() {
	local bw= bl=
	for _ in $(seq "$runs"); do
		local t0 t1 w
		t0=$(date +%s.%N)
		w=$("$@" 2> /dev/null | tail -1)
		t1=$(date +%s.%N)
		read -r bw bl < <(python3 -c 'import sys
w, t0, t1, bw, bl = sys.argv[1:]
l = float(t1) - float(t0)
print(min(float(w), float(bw)) if bw else float(w), min(l, float(bl)) if bl else l)' "$w" "$t0" "$t1" "$bw" "$bl")
	done
	echo "$bw $bl"
}

pythons="/usr/bin/python3"
for d in /root/.pyenv/versions/3.*; do
	[ -x "$d/bin/python3" ] && pythons="$pythons $d/bin/python3"
done

printf '%-42s %-15s %-15s %-15s %-13s %-13s\n' "" untracked default pyalloc "default/untr" "pyalloc/untr"
printf '%-42s %-15s %-15s %-15s %-13s %-13s\n' interpreter "work   wall" "work   wall" "work   wall" "work  wall" "work  wall"
for py in $pythons; do
	"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null || continue
	u=$(best "$py" "$wl" "$iters")
	d=$(best "$ma" run -q -o "$tmp/d.memcap" -- "$py" "$wl" "$iters")
	p=$(best "$ma" run -q --trace-python-allocators -o "$tmp/p.memcap" -- "$py" "$wl" "$iters")
	python3 - "$py" $u $d $p <<'PY'
import sys
py = sys.argv[1]
uw, ul, dw, dl, pw, pl = map(float, sys.argv[2:])
print("%-42s %5.3f %6.3fs  %5.3f %6.3fs  %5.3f %6.3fs  %4.2fx %4.2fx  %4.2fx %4.2fx"
      % (py, uw, ul, dw, dl, pw, pl, dw / uw, dl / ul, pw / uw, pl / ul))
PY
done

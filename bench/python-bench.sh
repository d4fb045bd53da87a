#!/bin/bash
# python-bench.sh — the Python overhead benchmark: a workload that builds
# and drops many dicts, lists and strings (tests/python/workload.py), run
# untracked, under `memattach run` (Python frames, the default) and under
# `memattach run --trace-python-allocators`, for every interpreter found.
# Prints wall seconds (best of N runs) and the ratios.  Numbers, not pass/fail.
set -u
top=${1:-.}
ma="$top/memattach"
wl="$top/tests/python/workload.py"
iters=${ITERS:-20000}
runs=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

best() {   # best wall time of $runs runs of "$@"
	local b=
	for _ in $(seq "$runs"); do
		local t0 t1
		t0=$(date +%s.%N)
		"$@" > /dev/null 2>&1
		t1=$(date +%s.%N)
		b=$(python3 -c "import sys; a=float(sys.argv[1])-float(sys.argv[2]); b=sys.argv[3]; print(min(a, float(b)) if b else a)" "$t1" "$t0" "$b")
	done
	echo "$b"
}

pythons="/usr/bin/python3"
for d in /root/.pyenv/versions/3.*; do
	[ -x "$d/bin/python3" ] && pythons="$pythons $d/bin/python3"
done

printf '%-44s %9s %9s %9s %8s %8s\n' interpreter untracked default pyalloc ratio ratio-pa
for py in $pythons; do
	"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null || continue
	u=$(best "$py" "$wl" "$iters")
	d=$(best "$ma" run -q -o "$tmp/d.memcap" -- "$py" "$wl" "$iters")
	p=$(best "$ma" run -q --trace-python-allocators -o "$tmp/p.memcap" -- "$py" "$wl" "$iters")
	python3 - "$py" "$u" "$d" "$p" <<'PY'
import sys
py, u, d, p = sys.argv[1], *map(float, sys.argv[2:])
print("%-44s %8.3fs %8.3fs %8.3fs %7.2fx %7.2fx" % (py, u, d, p, d / u, p / u))
PY
done

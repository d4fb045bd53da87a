#!/bin/bash
# python-bench.sh BUILDDIR — the Python overhead benchmark: a workload that
# builds and drops many dicts, lists and strings (bench/python_workload.py)
# at a call depth of 15 and of 40 (one function calling itself) and of 40
# with every level a function of its own ("40d"), run untracked, under `memattach run`
# (Python frames, the default) and under `memattach run
# --trace-python-allocators`, for every interpreter found (PYTHONS="..."
# to choose).  Interleaved: each round runs every (interpreter, depth, mode)
# once, in turn, so load on the machine falls on all of them alike.
#
# Per cell the median over $RUNS rounds of "cpu", the target's CPU time over
# its loop (every thread of it, the agent's writer too: what tracking adds
# to the target, least disturbed by other load) and "work", the loop's wall
# time.  Ratios are to the untracked run of the same interpreter and depth.
# Numbers, not pass/fail.  BASE=BUILDDIR adds the two tracked modes with that
# build (an older memattach: "b-default", "b-pyalloc") to each round, for a
# before / after in one interleaved run; MODES="..." chooses the modes.
set -u
top=${1:-.}
ma="$top/memattach"
srcdir=$(cd "$(dirname "$0")" && pwd)
wl="$srcdir/python_workload.py"
iters=${ITERS:-10000}
runs=${RUNS:-5}
depths=${DEPTHS:-"15 40 40d"}
base=${BASE:-}
modes=${MODES:-"untracked default pyalloc${base:+ b-default b-pyalloc}"}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-bench-py.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -z "${PYTHONS:-}" ]; then
	PYTHONS="/usr/bin/python3"
	for d in /root/.pyenv/versions/3.*; do
		[ -x "$d/bin/python3" ] && PYTHONS="$PYTHONS $d/bin/python3"
	done
fi
pythons=
for py in $PYTHONS; do
	"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null &&
		pythons="$pythons $py"
done

# one KEY MODE PY DEPTH — one run, its "work cpu" line appended to $tmp/KEY
one() {
	local key=$1 mode=$2 py=$3 depth=$4 out m=$ma
	case $mode in b-*) m="$base/memattach"; mode=${mode#b-} ;; esac
	case $mode in
	untracked) out=$("$py" "$wl" "$iters" "$depth" 2>/dev/null | tail -1) ;;
	default) out=$("$m" run -q -o "$tmp/c.memcap" -- "$py" "$wl" "$iters" "$depth" 2>/dev/null | tail -1) ;;
	pyalloc) out=$("$m" run -q --trace-python-allocators -o "$tmp/c.memcap" -- \
		"$py" "$wl" "$iters" "$depth" 2>/dev/null | tail -1) ;;
	esac
	rm -f "$tmp/c.memcap"
	echo "$out" >> "$tmp/$key"
}

echo "python benchmark: $iters iterations, depths $depths, median of $runs interleaved rounds"
for r in $(seq "$runs"); do
	for py in $pythons; do
		k=$(echo "$py" | tr / _)
		for depth in $depths; do
			# each round starts at the next mode: no mode always
			# runs first or last in a cell (on a loaded machine the
			# last of two identical agents read up to 1.6x slower)
			m=($modes)
			o=$(( (r - 1) % ${#m[@]} ))
			for mode in "${m[@]:o}" "${m[@]:0:o}"; do
				one "$k.$depth.$mode" "$mode" "$py" "$depth"
			done
		done
	done
done

python3 - "$tmp" "$depths" "$modes" $pythons <<'PY'
import statistics, sys
tmp, depths, modes, pys = sys.argv[1], sys.argv[2].split(), sys.argv[3].split(), sys.argv[4:]
def med(key, i):
    try:
        v = [float(l.split()[i]) for l in open("%s/%s" % (tmp, key)) if len(l.split()) == 2]
    except OSError:
        v = []
    return statistics.median(v) if v else float("nan")
tracked = [m for m in modes if m != "untracked"]
print("%-36s %5s  %-13s" % ("", "", "untracked") + "".join(" %-13s" % m for m in tracked)
      + "  " + "".join(" %-11s" % (m + "/u") for m in tracked))
print("%-36s %5s  %-13s" % ("interpreter", "depth", "cpu   work") + " cpu   work    " * len(tracked)
      + "  " + " cpu  work   " * len(tracked))
for py in pys:
    k = py.replace("/", "_")
    for d in depths:
        c = {m: (med("%s.%s.%s" % (k, d, m), 1), med("%s.%s.%s" % (k, d, m), 0)) for m in modes}
        u = c.get("untracked", (float("nan"), float("nan")))
        line = "%-36s %5s  %5.3f %6.3f " % (py, d, u[0], u[1])
        line += "".join(" %5.3f %6.3f " % c[m] for m in tracked) + " "
        line += "".join(" %4.2fx %4.2fx " % (c[m][0] / u[0], c[m][1] / u[1]) for m in tracked)
        print(line)
PY

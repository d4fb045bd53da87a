#!/bin/sh
# 20 attach/detach cycles (memattach --pid --duration 0.1, every second one
# with --trace-python-allocators) on a busy Python process (cycles.py),
# with every CPython present: each cycle exits 0; the process is neither
# stopped nor traced after it and has made progress; its thread and fd
# counts are the same after cycle 2 and after the last; cycles 1 and 2
# captured its allocations with Python frames; its PyMem allocators are
# the ones it started with; and its whole output is byte for byte that of
# an untracked run of as many blocks.
. "$(dirname "$0")/common.sh"
CYCLES=${CYCLES:-20}
tpid=

counts() {
	echo "threads=$(ls "/proc/$tpid/task" | wc -l) fds=$(ls "/proc/$tpid/fd" | wc -l)"
}

blocks() { grep -c '^block' "$py_tmp/out"; }

# cycles PY
cycles() {
	local py=$1 c=1 opt rc prev now st after2= after
	echo "=== $py cycles.py: $CYCLES cycles"
	# Gone before the start: the child truncates it only once it runs, and
	# a wait could meet the last interpreter's lines.
	rm -f "$py_tmp/out"
	"$py" "$py_here/cycles.py" >"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	tpid=$!
	if ! py_wait_line "$py_tmp/out" '^block' 20; then
		py_show "target stderr" "$py_tmp/err"
		echo "FAIL: cycles.py did not start"
		return 1
	fi
	prev=$(blocks)
	while [ $c -le "$CYCLES" ]; do
		opt=
		[ $((c % 2)) = 0 ] && opt=--trace-python-allocators
		timeout 30 "$MEMATTACH" --pid "$tpid" --duration 0.1 $opt -o "$py_tmp/cap" \
			>"$py_tmp/mout" 2>"$py_tmp/merr" </dev/null
		rc=$?
		if [ $rc != 0 ]; then
			py_show memattach "$py_tmp/merr"
			echo "FAIL: cycle $c ($opt): memattach exited $rc (124 = hung, killed after 30 s)"
			return 1
		fi
		st=$(sed -n 's/^State:\t\(.\).*/\1/p' "/proc/$tpid/status" 2>/dev/null)
		case $st in
		'' | Z | X)
			py_show "target stderr" "$py_tmp/err"
			echo "FAIL: the target died in cycle $c"
			return 1 ;;
		T | t)
			echo "FAIL: the target is left stopped ($st) after cycle $c"
			return 1 ;;
		esac
		if ! grep -q '^TracerPid:	0$' "/proc/$tpid/status"; then
			echo "FAIL: the target is still traced after cycle $c: $(grep TracerPid "/proc/$tpid/status")"
			return 1
		fi
		now=$(blocks)
		if [ "$now" -le "$prev" ]; then
			echo "FAIL: no block done during cycle $c (still $now)"
			return 1
		fi
		prev=$now
		if [ $c -le 2 ]; then
			# Both kinds of cycle see the blocks' bytearrays (600-1599 B)
			# with their Python frames.
			"$PYEVENTS" "$py_tmp/cap" 600 >"$py_tmp/events" || return 1
			if ! grep -q '	block cycles.py:[0-9]*|<module> cycles.py:[0-9]*	' "$py_tmp/events"; then
				py_show "events" "$py_tmp/events"
				echo "FAIL: cycle $c ($opt) captured no allocation of block() with its frames"
				return 1
			fi
		fi
		[ $c = 2 ] && after2=$(counts)
		c=$((c + 1))
	done
	after=$(counts)
	echo "after cycle 2: $after2; after cycle $CYCLES: $after; blocks $now"
	if [ "$after2" != "$after" ]; then
		echo "FAIL: the target's threads/fds changed between cycle 2 and cycle $CYCLES"
		ls -l "/proc/$tpid/fd"
		return 1
	fi
	# Still running once left alone.
	if ! py_wait_line "$py_tmp/out" "^block $((now + 2)) " 10; then
		echo "FAIL: the target stopped making progress after the last cycle"
		return 1
	fi
	kill -USR2 "$tpid"
	if ! py_wait_exit "$tpid" 20; then
		echo "FAIL: the target did not finish after SIGUSR2 (killed)"
		return 1
	fi
	tpid=
	py_show "target stderr" "$py_tmp/err"
	if [ "$py_rc" != 0 ] || [ -s "$py_tmp/err" ]; then
		echo "FAIL: the target exited $py_rc"
		return 1
	fi
	if ! grep -q '^PyMem allocators as before$' "$py_tmp/out"; then
		echo "FAIL: the PyMem allocators were not restored after the captures"
		return 1
	fi
	local n
	n=$(sed -n 's/^END //p' "$py_tmp/out")
	"$py" "$py_here/cycles.py" "$n" >"$py_tmp/ref" 2>&1 </dev/null
	if ! cmp "$py_tmp/ref" "$py_tmp/out"; then
		diff "$py_tmp/ref" "$py_tmp/out" | head -10
		echo "FAIL: the output differs from an untracked run of $n blocks"
		return 1
	fi
	echo "$n blocks, output identical to an untracked run's"
}

fail=0 n=0
for py in $(all_pythons); do
	n=$((n + 1))
	t=$(date +%s.%N)
	if ! cycles "$py"; then
		fail=1
		[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
		tpid=
	fi
	echo "--- $py: $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 (pyenv or /usr/bin/python3)"
	exit 77
fi
exit $fail

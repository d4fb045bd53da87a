#!/bin/sh
# attach-leftover.sh — what the agent leaves in a process after detach.
# An idle target (tests/targets/burst, and Debian's python3 running
# burst.py when present) makes a burst of 4096 allocations from 2048
# distinct stacks once before any attach (its own heap at its high-water
# mark), then CYCLES times: memattach --pid attaches, the target makes the
# same burst while captured (handshakes through its stdin and stdout: no
# timing), memattach stops (SIGINT).  After each detach:
#   - the target's descriptors are exactly those it had before the first
#     attach (libunwind's validation pipe included: none is left);
#   - the private anonymous memory of the process (smaps_rollup's
#     Anonymous: the agent's mappings, its libraries' written pages, and
#     whatever it left in the target's heap; the idle target's own does
#     not move: flat within 12 KiB over 10 bursts unattached) grew by at
#     most LEFT_KB after the first detach (what stays: thread records,
#     Python frame names, libunwind's 256 KiB trace cache of the thread
#     that allocated, the loader's records of the agent's libraries and
#     the heap they pin), and is flat after that: the median of the last
#     three cycles is at most FLAT_KB above the median of cycles 2-4 (a
#     median, because a Python target's own memory moved once by 140 KiB
#     and back);
#   - each capture holds the burst (4096 allocations from the target).
# The numbers per cycle are printed.
. "$(dirname "$0")/attach-common.sh"
CYCLES=${CYCLES:-30}
[ "$CYCLES" -ge 6 ] || CYCLES=6
LEFT_KB=${LEFT_KB:-768}
FLAT_KB=${FLAT_KB:-24}
tpid=

anon_kb() { awk '/^Anonymous:/ { print $2 }' "/proc/$1/smaps_rollup"; }
fd_list() { ls -l "/proc/$1/fd" | awk 'NR > 1 { print $(NF - 2), $NF }' | sort; }

# burst N: one burst; the target says "done N" when it is over.
burst() {
	echo burst >&3
	if ! ma_wait_for "$ma_tmp/tout" "^done $1\$" 60; then
		echo "FAIL: burst $1 did not finish"
		return 1
	fi
}

# leftover NAME CMD...: the cycles against one target.
leftover() {
	local name=$1 c=1 n=1 a0 a1 a early late line=
	shift
	echo "=== $name: $CYCLES attach/burst/detach cycles"
	rm -f "$ma_tmp/fifo"
	mkfifo "$ma_tmp/fifo" || return 1
	exec 3<>"$ma_tmp/fifo"
	"$@" <"$ma_tmp/fifo" >"$ma_tmp/tout" 2>"$ma_tmp/terr" &
	tpid=$!
	ma_wait_for "$ma_tmp/tout" '^ready' 20 || { echo "FAIL: $name did not start"; return 1; }
	burst 1 || return 1
	a0=$(anon_kb "$tpid")
	fd_list "$tpid" >"$ma_tmp/fd0"
	while [ $c -le "$CYCLES" ]; do
		n=$((n + 1))
		attach_bg "$tpid" "$ma_tmp/l.cap" || return 1
		burst $n || return 1
		stop_attach || return 1
		a=$(anon_kb "$tpid")
		line="$line $((a - a0))"
		[ $c = 1 ] && a1=$a
		fd_list "$tpid" >"$ma_tmp/fd"
		if ! cmp -s "$ma_tmp/fd0" "$ma_tmp/fd"; then
			echo "FAIL: cycle $c: the target's descriptors differ from before the first attach:"
			diff "$ma_tmp/fd0" "$ma_tmp/fd"
			return 1
		fi
		if [ $c = 1 ] || [ $c = "$CYCLES" ]; then
			report_json "$ma_tmp/l.cap" "$ma_tmp/l.json" || return 1
			if ! "$PYTHON" -c 'import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(s["total_allocations"] < 4096)' "$ma_tmp/l.json"; then
				echo "FAIL: cycle $c: the capture misses the burst's 4096 allocations"
				return 1
			fi
		fi
		c=$((c + 1))
	done
	early=$(echo $line | awk '{ print median($2, $3, $4) }
		function median(a, b, c) { return a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b)) }')
	late=$(echo $line | awk '{ print median($(NF - 2), $(NF - 1), $NF) }
		function median(a, b, c) { return a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b)) }')
	echo "anonymous memory after each detach, KiB more than before the first attach:$line"
	echo "after the first detach: +$((a1 - a0)) KiB (limit $LEFT_KB); median of cycles 2-4: +$early, of the last three: +$late (limit +$FLAT_KB)"
	echo quit >&3
	wait_gone "$tpid" 20 || { echo "FAIL: $name did not exit"; return 1; }
	exec 3>&-
	tpid=
	ma_show "target stderr" "$ma_tmp/terr"
	[ "$wrc" = 0 ] || { echo "FAIL: $name exited $wrc"; return 1; }
	[ -s "$ma_tmp/terr" ] && { echo "FAIL: $name wrote to its stderr"; return 1; }
	if [ $((a1 - a0)) -gt "$LEFT_KB" ]; then
		echo "FAIL: the agent left $((a1 - a0)) KiB after the first detach (limit $LEFT_KB)"
		return 1
	fi
	if [ $((late - early)) -gt "$FLAT_KB" ]; then
		echo "FAIL: the process grew by $((late - early)) KiB from cycles 2-4 to the last three (limit $FLAT_KB): not flat"
		return 1
	fi
}

fail=0
leftover burst "$TARGETS/burst" || fail=1
[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
tpid=
if [ -x /usr/bin/python3 ]; then
	leftover "python3 burst.py" /usr/bin/python3 "$ma_here/burst.py" || fail=1
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
fi
exit $fail

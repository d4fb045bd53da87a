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
#     the heap they pin), and for the C target it is flat after that:
#     the median of the last six cycles is at most FLAT_KB above the
#     median of cycles 2-7 (the GOT records made anew each session grew
#     it by 22 KiB over 30 cycles).  Python's numbers are printed, not
#     judged on flatness: once attached its memory moves by 140-280 KiB
#     and back between bursts (the malloc arena of the threads that take
#     the GIL), more than the growth to find, which the C target shows;
#   - each capture holds the burst (4096 allocations from the target);
#   - while attached the agent's one thread is named "memattach", and it
#     is gone after the detach (10 s at most).
# The numbers per cycle are printed.
. "$(dirname "$0")/attach-common.sh"
CYCLES=${CYCLES:-30}
[ "$CYCLES" -ge 12 ] || CYCLES=12
LEFT_KB=${LEFT_KB:-768}
FLAT_KB=${FLAT_KB:-12}
tpid=

anon_kb() { awk '/^Anonymous:/ { print $2 }' "/proc/$1/smaps_rollup"; }
agent_threads() { cat /proc/"$1"/task/*/comm 2>/dev/null | grep -cx memattach; }
fd_list() { ls -l "/proc/$1/fd" | awk 'NR > 1 { print $(NF - 2), $NF }' | sort; }

# median6 FIRST: the median of the six numbers of stdin from field FIRST
# on (the mean of the middle two, in KiB, rounded down).
median6() {
	awk -v f="$1" '{ for (i = 0; i < 6; i++) v[i] = $(f + i)
		for (i = 0; i < 6; i++) for (j = i + 1; j < 6; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		print int((v[2] + v[3]) / 2) }'
}

# burst N: one burst; the target says "done N" when it is over.
burst() {
	echo burst >&3
	if ! ma_wait_for "$ma_tmp/tout" "^done $1\$" 60; then
		echo "FAIL: burst $1 did not finish"
		return 1
	fi
}

# leftover FLAT NAME CMD...: the cycles against one target (FLAT 1: its
# memory after the first cycle is judged too).
leftover() {
	local judge_flat=$1 name=$2 c=1 n=1 a0 a1 a early late k line=
	shift 2
	echo "=== $name: $CYCLES attach/burst/detach cycles"
	rm -f "$ma_tmp/fifo"
	mkfifo "$ma_tmp/fifo" || return 1
	exec 3<>"$ma_tmp/fifo"
	: >"$ma_tmp/tout"   # the last target's "ready" must not end the wait below
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
		k=$(agent_threads "$tpid")
		[ "$k" = 1 ] || { echo "FAIL: cycle $c: $k threads named memattach while attached, want 1"; return 1; }
		stop_attach || return 1
		for _ in $(seq 200); do [ "$(agent_threads "$tpid")" = 0 ] && break; sleep 0.05; done
		[ "$(agent_threads "$tpid")" = 0 ] || { echo "FAIL: cycle $c: the agent's thread outlived the detach by 10 s"; return 1; }
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
	early=$(echo $line | median6 2)
	late=$(echo $line | median6 $((CYCLES - 5)))
	echo "anonymous memory after each detach, KiB more than before the first attach:$line"
	echo "after the first detach: +$((a1 - a0)) KiB (limit $LEFT_KB); median of cycles 2-7: +$early, of the last six: +$late (limit +$FLAT_KB)"
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
	if [ "$judge_flat" = 1 ] && [ $((late - early)) -gt "$FLAT_KB" ]; then
		echo "FAIL: the process grew by $((late - early)) KiB from cycles 2-7 to the last six (limit $FLAT_KB): not flat"
		return 1
	fi
}

fail=0
leftover 1 burst "$TARGETS/burst" || fail=1
[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
tpid=
if [ -x /usr/bin/python3 ]; then
	leftover 0 "python3 burst.py" /usr/bin/python3 "$ma_here/burst.py" || fail=1
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
fi
exit $fail

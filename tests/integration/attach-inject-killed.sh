#!/bin/sh
# attach-inject-killed.sh — memattach SIGKILLed at every step of the
# injection (50 times, the injector's hook) and at random instants (10,
# fixed seed), then SIGSTOPped during it (9 times: at 6 steps, at 3 random instants), against
# the 5-thread hammer (main + 4 threads, all in and out of malloc): the
# hammer must never die, stay stopped or stay traced; every one of its
# threads keeps running; a counted round after the kills gives the very
# numbers of one before them, and no block was corrupted (hammer's own
# check, exit 0).
. "$(dirname "$0")/inject-faults.sh"
fail() { kill -9 "$hpid" 2>/dev/null; exit 1; }

# CPU time of every thread; all must move.
thread_ticks() {
	for t in /proc/"$hpid"/task/*/stat; do
		sed 's/^.*) //' "$t" | awk '{ print $12 + $13 }'
	done
}
# CPU ticks of the hammer's own threads (not the agent's)
target_progress() { task_ticks "$hpid" own; }

start_target() { start_hammer && tpid=$hpid && hammer_round 1; }
start_target || fail
ticks0=$(thread_ticks)
kill_runs 50 || fail
# while memattach is stopped the hammer's threads use 1 s of CPU (100
# ticks; some 40 times what fills the agent's buffers): held by the agent
# they use none (at load 20 they got 155 ticks in 30 s, running)
stop_runs 100 50 || fail
ticks1=$(thread_ticks)
echo "$ticks0" >"$ma_tmp/t0"
echo "$ticks1" >"$ma_tmp/t1"
if paste "$ma_tmp/t0" "$ma_tmp/t1" | awk '$2 <= $1 { bad = 1 } END { exit !bad }'; then
	echo "FAIL: a hammer thread stopped working: $(paste "$ma_tmp/t0" "$ma_tmp/t1" | tr '\n' ' ')"
	fail
fi
[ "$(ls "/proc/$hpid/task" | wc -l)" -ge 5 ] || { echo "FAIL: the hammer lost threads"; fail; }
hammer_round 2 || fail
for r in 1 2; do
	grep "^counted round=$r " "$ma_tmp/hout" | awk '{ print $4, $5, $6, $7, $8 }' | sort >"$ma_tmp/r$r"
done
if [ "$(wc -l <"$ma_tmp/r2")" != 4 ] || ! cmp -s "$ma_tmp/r1" "$ma_tmp/r2"; then
	echo "FAIL: the counted round after the kills differs from the one before:"
	paste "$ma_tmp/r1" "$ma_tmp/r2"
	fail
fi
stop_hammer || fail
echo "attach-inject-killed: the hammer survived 60 killed and 9 stopped injections intact"

# inject-faults.sh — sourced by the injection fault tests: SIGKILL of
# memattach at each step of an injection (MEMATTACH_TEST_KILL_AT_STEP, the
# injector's test hook) and at random instants, then checks that the
# target still runs: alive, not stopped (T/t), not traced, making progress.
# The caller defines start_target (starts it, sets tpid) and
# target_progress (prints a number that grows while the target works).
# MA_FAULT_KEEP_GOING=1 restarts a broken target and goes on, to count
# the failures of every run (the test still fails).  Sources attach-common.sh.
. "$(dirname "$0")/attach-common.sh"

# tracer_of PID — TracerPid of PID (0 when untraced, empty when gone).
tracer_of() { sed -n 's/^TracerPid:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null; }

# task_ticks PID agent|own — CPU ticks (user + system) of PID's threads
# that are the agent's (named memattach-*: the loader thread's name, which
# the agent's thread inherits) or the others.
task_ticks() {
	local t c sum=0
	for t in /proc/"$1"/task/*; do
		c=$(cat "$t/comm" 2>/dev/null) || continue
		case $c in memattach-*) [ "$2" = agent ] || continue ;; *) [ "$2" = own ] || continue ;; esac
		sum=$((sum + $(sed 's/^.*) //' "$t/stat" 2>/dev/null | awk '{ print $12 + $13 }')))
	done
	echo "$sum"
}

# agent_idle — waits (30 s at most) for the agent's last session in the
# target to have ended (its thread gone): a start call before that is
# refused as busy (exit 12), and a stop run would track nothing.
agent_idle() {
	local i=0
	while grep -q '^memattach-' /proc/"$tpid"/task/*/comm 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt 600 ] && { echo "FAIL: the agent's thread did not end"; return 1; }
		sleep 0.05
	done
}

# lcg — the next number of a fixed-seed generator, in $rnd (0..32767).
lcg_state=${MA_FAULT_SEED:-20261206}
lcg() {
	lcg_state=$(((lcg_state * 1103515245 + 12345) % 2147483648))
	rnd=$(((lcg_state / 65536) % 32768))
}

# target_ok WHAT [quick] — the target is alive, in no stop, untraced
# (within 5 s: a dead tracer's detach is done by the kernel as it exits),
# and unless quick, its progress counter moves (within 20 s on a loaded
# machine).  Counts failures in n_dead, n_stopped, n_traced, n_stuck.
target_ok() {
	local i=0 st tr p0 p1
	while :; do
		if ! kill -0 "$tpid" 2>/dev/null || [ "$(proc_state "$tpid")" = Z ]; then
			echo "FAIL: $1: the target died"
			n_dead=$((n_dead + 1))
			return 1
		fi
		st=$(proc_state "$tpid")
		tr=$(tracer_of "$tpid")
		[ "$st" != T ] && [ "$st" != t ] && [ "$tr" = 0 ] && break
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			echo "FAIL: $1: the target is in state $st, traced by '$tr'"
			case $st in T | t) n_stopped=$((n_stopped + 1)) ;; esac
			[ "$tr" != 0 ] && n_traced=$((n_traced + 1))
			return 1
		fi
		sleep 0.05
	done
	[ "${2:-}" = quick ] && return 0
	p0=$(target_progress)
	i=0
	while p1=$(target_progress) && [ "${p1:-0}" -le "${p0:-0}" ]; do
		i=$((i + 1))
		if [ "$i" -gt 400 ]; then
			echo "FAIL: $1: the target makes no progress ($p0 -> $p1)"
			n_stuck=$((n_stuck + 1))
			return 1
		fi
		sleep 0.05
	done
}

INJ_ONCE=$ma_builddir/tests/injector/inj_once
INJ_LIB=$ma_builddir/tests/injector/.libs/libinjtest.so
[ -x "$INJ_ONCE" ] && [ -r "$INJ_LIB" ] || { echo "FAIL: tests/injector/inj_once or libinjtest not built"; exit 1; }

# The steps of an injection (enum ma_inj_step in injector/inj_internal.h)
# as STEP,NTH: NTH runs over the calls.  The first injection that gets
# there maps the stub's page (libc's mmap returning into libc's restorer),
# later ones reuse it; then the seized thread makes two calls (mmap of the
# loader thread's page, pthread_create), is restored and released (8, 9),
# and the loader thread runs dlopen, dlsym and the entry while the tracer
# polls (10).  Every step listed is reached by first and later injections.
ALL_STEPS="1,1 2,1 3,1 4,1 5,1 6,1 7,1 2,2 3,2 5,2 8,1 9,1 10,1"
nsteps=$(echo $ALL_STEPS | wc -w)

# kill_runs N — N injections (tests/injector/inj_once) SIGKILLed by the
# injector's hook after step i of ALL_STEPS (round robin): the first round
# at once (the run must die: the step is reached), the next ones a random
# 0..2 ms later; then 10 memattach --pid runs SIGKILLed by this shell a
# random 0..500 ms after their start.  target_ok after each.
kill_runs() {
	local i step delay ms pid killed=0 rc
	n_dead=0 n_stopped=0 n_traced=0 n_stuck=0
	i=0
	while [ "$i" -lt "$1" ]; do
		step=$(echo $ALL_STEPS | cut -d' ' -f$((1 + i % nsteps)))
		delay=0
		if [ "$i" -ge "$nsteps" ]; then lcg; delay=$((rnd % 2000)); fi
		MEMATTACH_TEST_KILL_AT_STEP=$step,$delay timeout 60 "$INJ_ONCE" "$tpid" "$INJ_LIB" test_entry \
			>"$ma_tmp/iout" 2>&1
		rc=$?
		[ "$rc" = 1 ] && killed=$((killed + 1))
		# killed, the caller says its tracer went away
		if [ "$delay" = 0 ] && ! grep -q 'abandoned' "$ma_tmp/iout"; then
			echo "FAIL: step $step was not reached (inj_once exited $rc: $(cat "$ma_tmp/iout"))"
			n_stuck=$((n_stuck + 1))
		fi
		i=$((i + 1))
		# progress checked every 5th run (it takes CPU ticks to show)
		target_ok "hook kill at step $step + $delay us" $([ $((i % 5)) != 0 ] && echo quick) ||
			keep_going || break
	done
	echo "--- $i injections killed by the hook at $nsteps steps ($killed killed, the rest done first)"
	kill_summary
	i=0
	killed=0
	while [ "$i" -lt 10 ] && [ "$((n_dead + n_stopped + n_traced + n_stuck))" = 0 -o \
		"${MA_FAULT_KEEP_GOING:-0}" = 1 ]; do
		lcg
		ms=$((rnd % 500))
		"$MEMATTACH" --pid "$tpid" --duration 100ms -o "$ma_tmp/k.cap" >/dev/null 2>&1 </dev/null &
		pid=$!
		sleep "$(awk -v m="$ms" 'BEGIN { printf "%.3f", m / 1000 }')"
		kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
		wait "$pid" 2>/dev/null
		i=$((i + 1))
		target_ok "memattach killed after $ms ms" || keep_going || break
	done
	echo "--- $i memattach --pid killed after 0..500 ms ($killed were still running)"
	kill_summary
	[ "$((n_dead + n_stopped + n_traced + n_stuck))" = 0 ]
}

# stop_runs MOVE BOUND_S — memattach --pid SIGSTOPped during the
# injection, by the hook at the steps below and by this shell a random
# 0..300 ms after its start (when that came before the injection began,
# only the target's state after it is checked).  The injection goes on
# in memattach's tracer process and the agent starts: with nobody reading,
# its pool of batches
# and the socket fill, and its threads wait for the CLI up to the stall
# limit, then drop and count their events.  So, while memattach stays
# stopped, the target's progress counter must move by MOVE — far past
# what the agent holds unread — and the capture, once memattach is
# continued, must count lost events (else MOVE did not reach the drop).
# The stall limit is the default 100 ms, given: the suite's 60 s
# (MEMATTACH_STALL_LIMIT, for the exact tests) holds the target 60 s, by
# design.  BOUND_S (below 60) only bounds a failure: a loaded machine
# may give the target little CPU, but a held target uses none.  After SIGCONT
# memattach ends within 60 s and the target is fine.
stop_runs() {
	local how hook p0 p1 t0 i waited lost a0 a1 o0 o1 deadline
	for how in hook:1,1 hook:5,1 hook:6,1 hook:7,1 hook:5,2 hook:10,1 shell shell shell; do
		agent_idle || return 1
		hook=
		[ "${how%%:*}" = hook ] && hook=${how#hook:}
		MEMATTACH_TEST_STOP_AT_STEP=$hook "$MEMATTACH" --pid "$tpid" --duration 2s \
			--stall-limit 100ms -o "$ma_tmp/s.cap" >/dev/null 2>"$ma_tmp/serr" </dev/null &
		mpid=$!
		if [ "$how" = shell ]; then
			lcg
			sleep "$(awk -v m="$((rnd % 300))" 'BEGIN { printf "%.3f", m / 1000 }')"
			if ! kill -STOP "$mpid" 2>/dev/null; then   # it had ended already
				wait "$mpid"
				echo "--- stop $how: memattach had ended before the stop"
				continue
			fi
		fi
		i=0
		while [ "$(proc_state "$mpid")" != T ]; do
			i=$((i + 1))
			if [ "$i" -gt 600 ] || ! kill -0 "$mpid" 2>/dev/null; then
				ma_show "memattach stderr" "$ma_tmp/serr"
				echo "FAIL: memattach was not stopped ($how)"
				return 1
			fi
			sleep 0.05
		done
		if ! injection_begun; then
			[ "$how" = shell ] || { echo "FAIL: stop $how: no injection under way in the stop"; return 1; }
			kill -CONT "$mpid"
			wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGCONT"; return 1; }
			echo "--- stop $how: memattach was stopped before its injection began; it then exited $wrc"
			target_ok "after stop $how" || return 1
			continue
		fi
		p0=$(target_progress)
		t0=$(now_s)
		a0=$(task_ticks "$tpid" agent)
		o0=$(task_ticks "$tpid" own)
		deadline=$(($(date +%s) + $2))   # a bound on failing, in seconds
		while p1=$(target_progress) && [ "${p1:-0}" -lt $((${p0:-0} + $1)) ]; do
			if [ "$(date +%s)" -ge "$deadline" ]; then
				echo "FAIL: stop $how: the target did not move by $1 in $2 s while memattach was stopped ($p0 -> $p1; state $(proc_state "$tpid"), tracer $(tracer_of "$tpid"))"
				kill -CONT "$mpid"
				return 1
			fi
			sleep 0.05
		done
		waited=$(awk -v a="$t0" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')
		a1=$(($(task_ticks "$tpid" agent) - a0))
		o1=$(($(task_ticks "$tpid" own) - o0))
		[ "$(proc_state "$mpid")" = T ] || { echo "FAIL: memattach did not stay stopped"; return 1; }
		kill -CONT "$mpid"
		wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGCONT"; return 1; }
		lost=$(events_lost "$ma_tmp/s.cap")
		echo "--- stop $how: the target moved by $1 in ${waited} s of memattach's stop (CPU ticks: its threads $o1, the agent's $a1); memattach then exited $wrc, $lost events lost"
		# nobody reads: the agent's thread has nothing to do but wait (a tenth
		# of the target's CPU, and 5 ticks, allowed: it wakes every ms, for a clock)
		[ "$((a1 * 10))" -le "$((o1 + 50))" ] || { echo "FAIL: stop $how: the agent's thread took $a1 CPU ticks beside the target's $o1 while memattach was stopped"; return 1; }
		[ "${lost:-0}" -gt 0 ] || { echo "FAIL: stop $how: no events lost: the target did not get past the agent's buffers"; return 1; }
		target_ok "after stop $how" || return 1
	done
}

# injection_begun — memattach (stopped) has its tracer, its child, or the
# agent's thread is in the target: the injection goes on, or is done.  A
# random stop may come before: then nothing is injected while it lasts.
injection_begun() {
	pgrep -P "$mpid" >/dev/null || grep -q '^memattach-' /proc/"$tpid"/task/*/comm 2>/dev/null
}

# events_lost CAP — the events the agent dropped and counted, per the capture.
events_lost() {
	"$MEMATTACH" report stats --json "$1" 2>/dev/null | "$PYTHON" -c 'import json, sys
try: print(json.load(sys.stdin)["events_lost"]["events"])
except Exception: print(0)'
}

kill_summary() {
	echo "--- the target (so far): died $n_dead, stopped $n_stopped, traced $n_traced, stuck $n_stuck"
}

# keep_going — with MA_FAULT_KEEP_GOING=1, replaces a broken target.
keep_going() {
	[ "${MA_FAULT_KEEP_GOING:-0}" = 1 ] || return 1
	kill -CONT "$tpid" 2>/dev/null
	kill -9 "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	start_target
}

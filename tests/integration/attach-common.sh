# attach-common.sh — sourced by the attach robustness tests (attach-*.sh
# beyond the counting ones): start/stop helpers with timeouts, so a hang
# is a failure and never a stuck `make check`.  Sources common.sh (from
# $ma_integration when a test outside tests/integration sets it).
. "${ma_integration:-$(dirname "$0")}/common.sh"

AGENT_NAME=libmemattach-agent.so

# now_s — CLOCK_REALTIME seconds with nanoseconds.
now_s() { date +%s.%N; }

# fcmp "EXPR" — awk float comparison, true when EXPR holds.
fcmp() { awk "BEGIN { exit !($1) }"; }

# wait_gone PID SECONDS — waits for PID (a child of this shell) to exit and
# sets $wrc to its status; returns 1 (and kills it) on timeout.
wait_gone() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $(($2 * 20)) ]; then
			kill -9 "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			wrc=timeout
			return 1
		fi
		sleep 0.05
	done
	wait "$1"
	wrc=$?
}

# wait_in_syscall PID NRS SECONDS — waits until PID sleeps in one of the
# syscalls NRS ('0' = read, '230|35' = sleep's on x86-64; /proc/PID/syscall
# gives the number): a program started with `&` is
# then past its exec and its dynamic loader (attached between images, the
# refusal "no glibc mapped (still starting up)" would be right).
wait_in_syscall() {
	local i=0
	while ! grep -qE "^($2) " "/proc/$1/syscall" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt $(($3 * 20)) ]; then
			echo "FAIL: pid $1 is not in syscall $2: $(cat "/proc/$1/syscall" 2>&1)"
			return 1
		fi
		sleep 0.05
	done
}

# proc_state PID — the one-letter state of PID (R, S, T, Z...), empty if gone.
proc_state() { sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null; }

# agent_mapped PID — true when the agent is mapped in PID.
agent_mapped() { grep -q "$AGENT_NAME" "/proc/$1/maps" 2>/dev/null; }

# start_hammer — starts tests/targets/hammer; sets hpid, output in $ma_tmp/hout.
start_hammer() {
	: >"$ma_tmp/hout"   # a restart must not see the last hammer's lines
	"$TARGETS/hammer" >"$ma_tmp/hout" 2>"$ma_tmp/herr" </dev/null &
	hpid=$!
	ma_wait_for "$ma_tmp/hout" '^ready ' 10 || { echo "FAIL: hammer did not start"; return 1; }
	local i=0
	while [ "$(grep -c '^hammer tid=' "$ma_tmp/hout")" -lt 5 ]; do
		i=$((i + 1))
		[ "$i" -gt 200 ] && { echo "FAIL: hammer threads did not start"; return 1; }
		sleep 0.05
	done
}

# stop_hammer — SIGUSR2: the hammer stops, checks itself and exits; its exit
# status must be 0 (3 = a block was corrupted).
stop_hammer() {
	kill -USR2 "$hpid" 2>/dev/null
	if ! wait_gone "$hpid" 30; then
		echo "FAIL: hammer did not exit after SIGUSR2"
		return 1
	fi
	ma_show "hammer stderr" "$ma_tmp/herr"
	echo "--- hammer: $(grep '^hammer ops' "$ma_tmp/hout")"
	if [ "$wrc" != 0 ]; then
		echo "FAIL: hammer exited $wrc (3 = corrupted blocks seen)"
		return 1
	fi
}

# hammer_round N — asks the hammer for counted round N and waits for it.
hammer_round() {
	kill -USR1 "$hpid"
	ma_wait_for "$ma_tmp/hout" "^round $1 done" 60 || { echo "FAIL: counted round $1 did not finish"; return 1; }
}

# attach_bg PID CAP [ARGS...] — starts memattach --pid PID -o CAP in the
# background (stderr in $ma_tmp/merr) and waits for its "tracking pid"
# line; sets mpid.  Returns 1 if memattach exits first or 30 s pass.
attach_bg() {
	local pid=$1 cap=$2 i=0
	shift 2
	: >"$ma_tmp/merr"
	"$MEMATTACH" --pid "$pid" -o "$cap" "$@" >"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null &
	mpid=$!
	while ! grep -q 'tracking pid' "$ma_tmp/merr" 2>/dev/null; do
		if ! kill -0 "$mpid" 2>/dev/null; then
			wait "$mpid"
			wrc=$?
			ma_show "memattach stderr" "$ma_tmp/merr"
			[ "$wrc" = 6 ] && { echo "SKIP: ptrace is not permitted here (memattach exit 6)"; exit 77; }
			echo "FAIL: memattach --pid $pid exited $wrc before tracking"
			return 1
		fi
		i=$((i + 1))
		if [ "$i" -gt 600 ]; then
			ma_show "memattach stderr" "$ma_tmp/merr"
			kill -9 "$mpid" 2>/dev/null
			echo "FAIL: memattach --pid $pid not tracking after 30 s"
			return 1
		fi
		sleep 0.05
	done
}

# stop_attach — SIGINT to memattach; it must exit 0 within 30 s.
stop_attach() {
	kill -INT "$mpid"
	if ! wait_gone "$mpid" 30; then
		ma_show "memattach stderr" "$ma_tmp/merr"
		echo "FAIL: memattach did not exit within 30 s of SIGINT"
		return 1
	fi
	if [ "$wrc" != 0 ]; then
		ma_show "memattach stderr" "$ma_tmp/merr"
		echo "FAIL: memattach exited $wrc after SIGINT (want 0)"
		return 1
	fi
}

# report_json CAP OUT — memattach report stats --json CAP > OUT, exit 0.
report_json() {
	if ! timeout 120 "$MEMATTACH" report stats --json "$1" >"$2" 2>"$ma_tmp/rerr"; then
		ma_show "report stderr" "$ma_tmp/rerr"
		echo "FAIL: memattach report stats --json $1 failed"
		return 1
	fi
}

# check_hammer CAP JSON ROUNDS... — the capture's per-thread numbers against the
# hammer's truth: the listed counted rounds exact, other rounds absent.
check_hammer() {
	local cap=$1 json=$2
	shift 2
	"$PYTHON" "$ma_here/check_hammer.py" "$MEMATTACH" "$cap" "$ma_tmp/hout" "$json" "$@"
}

# check_blocked MODE — tests/targets/blocked MODE blocks its main thread in
# one call (read|sleep|epoll|cond); memattach --pid --duration 1 attaches
# and detaches meanwhile; then the test writes a line to the target's stdin
# (except for sleep) and the call must return once, normally, with that
# line, right after the write (nanosleep: after 5 s in all, not restarted
# from the beginning).
check_blocked() {
	local mode=$1 want_sys payload="after-detach-$$" w at
	case $mode in
	read) want_sys='^0 ' ;;                  # read
	sleep) want_sys='^\(230\|35\) ' ;;       # clock_nanosleep, nanosleep
	epoll) want_sys='^\(232\|281\|441\) ' ;; # epoll_wait, epoll_pwait, epoll_pwait2
	cond) want_sys='^202 ' ;;                # futex
	esac
	mkfifo "$ma_tmp/fifo" || return 1
	# Held open read-write here, so the target's open does not wait and
	# its read sees no end of file.
	exec 3<>"$ma_tmp/fifo"
	"$TARGETS/blocked" "$mode" <"$ma_tmp/fifo" >"$ma_tmp/bout" 2>"$ma_tmp/berr" 3>&- &
	bpid=$!
	if ! ma_wait_for "$ma_tmp/bout" '^blocking ' 10; then
		echo "FAIL: blocked $mode did not start"
		return 1
	fi
	local i=0
	while ! grep -q "$want_sys" "/proc/$bpid/syscall" 2>/dev/null; do
		i=$((i + 1))
		if [ "$i" -gt 100 ]; then
			echo "FAIL: blocked $mode is not in the expected syscall: $(cat "/proc/$bpid/syscall")"
			return 1
		fi
		sleep 0.05
	done
	# 0.6 s into the call (1.5 s into the nanosleep, which then ends before
	# now + 3.5 s unless it was restarted): the clock only spaces the attach
	# from the call's start; what is judged is the target's own times.
	if [ "$mode" = sleep ]; then sleep 1.5; else sleep 0.6; fi
	local launched
	launched=$(now_s)
	echo "=== blocked $mode (pid $bpid, in syscall $(cut -d' ' -f1 "/proc/$bpid/syscall")); memattach --pid --duration 1"
	timeout 30 "$MEMATTACH" --pid "$bpid" --duration 1 -o "$ma_tmp/b.cap" \
		>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null
	local rc=$?
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = 6 ] && { echo "SKIP: ptrace is not permitted here"; exit 77; }
	if [ "$rc" != 0 ]; then
		echo "FAIL: memattach --pid --duration 1 exited $rc (want 0)"
		return 1
	fi
	# (nanosleep ends by itself: on a loaded machine it may end before
	# memattach does; the agent's start time, below, decides.)
	if [ "$mode" != sleep ] && grep -q '^returned' "$ma_tmp/bout"; then
		echo "FAIL: the call returned during or right after the attach: $(grep '^returned' "$ma_tmp/bout")"
		return 1
	fi
	if [ "$mode" != sleep ]; then
		w=$(now_s)
		echo "$payload" >&3
	fi
	if ! ma_wait_for "$ma_tmp/bout" '^returned' 10; then
		echo "FAIL: the call did not return"
		return 1
	fi
	exec 3>&-
	wait_gone "$bpid" 10 || { echo "FAIL: blocked did not exit"; return 1; }
	local line
	line=$(grep '^returned' "$ma_tmp/bout")
	echo "--- target: $line"
	[ "$wrc" = 0 ] || { echo "FAIL: blocked exited $wrc"; return 1; }
	# returned rc=N errno=E elapsed=S at=T wakeups=W data=BYTES
	local r e el wk d
	r=$(echo "$line" | sed -n 's/.* rc=\([-0-9]*\) .*/\1/p')
	e=$(echo "$line" | sed -n 's/.* errno=\([0-9]*\) .*/\1/p')
	el=$(echo "$line" | sed -n 's/.* elapsed=\([0-9.]*\) .*/\1/p')
	at=$(echo "$line" | sed -n 's/.* at=\([0-9.]*\) .*/\1/p')
	wk=$(echo "$line" | sed -n 's/.* wakeups=\([0-9]*\) .*/\1/p')
	d=$(echo "$line" | sed -n 's/.* data=\(.*\)$/\1/p')
	local bad=0
	case $mode in
	read) [ "$r" = $((${#payload} + 1)) ] || { echo "FAIL: read returned $r, want $((${#payload} + 1))"; bad=1; } ;;
	epoll) [ "$r" = 1 ] || { echo "FAIL: epoll_wait returned $r, want 1"; bad=1; } ;;
	cond) [ "$r" = 0 ] && [ "$wk" = 1 ] || { echo "FAIL: pthread_cond_wait rc $r after $wk wakeups, want 0 after 1"; bad=1; } ;;
	sleep) [ "$r" = 0 ] || { echo "FAIL: nanosleep returned $r"; bad=1; } ;;
	esac
	[ "$e" = 0 ] || { echo "FAIL: errno $e (4 = EINTR)"; bad=1; }
	if [ "$mode" = sleep ]; then
		# A sleep restarted from scratch by the attach would end 5 s or more
		# after memattach was launched; one that kept its deadline ends
		# before, even when the loaded machine wakes it late (up to 1.5 s).
		fcmp "$el >= 5.0" || { echo "FAIL: nanosleep(5 s) lasted only $el s"; bad=1; }
		fcmp "$at < $launched + 5.0" ||
			{ echo "FAIL: nanosleep(5 s) ended at $at, 5 s or more after memattach was launched at $launched: restarted"; bad=1; }
	else
		[ "$d" = "$payload" ] || { echo "FAIL: data '$d', want '$payload'"; bad=1; }
		# Returned after the write (the clocks are the same), and soon.
		fcmp "$at >= $w - 0.01 && $at < $w + 1.0" ||
			{ echo "FAIL: returned at $at, written at $w"; bad=1; }
		fcmp "$el >= 1.5" || { echo "FAIL: the call lasted only $el s (attach 1 s + 0.6 s)"; bad=1; }
	fi
	report_json "$ma_tmp/b.cap" "$ma_tmp/b.json" || bad=1
	if [ "$mode" = sleep ] && [ "$bad" = 0 ]; then
		# the start call ran on the sleeping thread: it was still asleep then
		local started
		started=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["start_realtime_ns"] / 1e9)' "$ma_tmp/b.json")
		fcmp "$at > $started" ||
			{ echo "FAIL: nanosleep returned at $at, before the agent started at $started"; bad=1; }
	fi
	[ "$bad" = 0 ] && echo "check_blocked $mode: returned once, normally, with the right data and time"
	return "$bad"
}

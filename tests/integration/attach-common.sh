# attach-common.sh — sourced by the attach robustness tests (attach-*.sh
# beyond the counting ones): start/stop helpers with timeouts, so a hang
# is a failure and never a stuck `make check`.  Sources common.sh.
. "$(dirname "$0")/common.sh"

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

# proc_state PID — the one-letter state of PID (R, S, T, Z...), empty if gone.
proc_state() { sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null; }

# agent_mapped PID — true when the agent is mapped in PID.
agent_mapped() { grep -q "$AGENT_NAME" "/proc/$1/maps" 2>/dev/null; }

# start_hammer — starts tests/targets/hammer; sets hpid, output in $ma_tmp/hout.
start_hammer() {
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

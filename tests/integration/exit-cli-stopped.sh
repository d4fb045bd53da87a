#!/bin/sh
# exit-cli-stopped.sh — a process exiting while memattach is stopped
# (SIGSTOP) waits for its agent's last flush about 2 s, not the 30 s a
# CLI at work gets: the exit's flush counts the CLI as progress only when
# runnable or in disk I/O (agent/cli_watch.c), never stopped (T).  The
# target churns with the CLI stopped (events dropped past a 100 ms stall
# limit), so its socket is full when it exits; its exit must come within
# 15 s (2 s by design), and its capture is then said to be incomplete
# (the agent gave up, the trailer never sent).
. "$(dirname "$0")/attach-common.sh"

d=$ma_tmp/stopped
mkdir "$d"
MEMATTACH_STALL_LIMIT=100ms "$MEMATTACH" run -o "$d/cap" -- \
	"$TARGETS/fanout" --wait-signal --workers 1 --churn 300000 --truth-dir "$d" \
	>"$d/out" 2>"$d/err" </dev/null &
mpid=$!
bad=0
ma_wait_for "$d/out" '^ready' 60 || { echo "FAIL: the target did not start"; kill -9 "$mpid"; exit 1; }
tpid=$(pgrep -P "$mpid" -x fanout)
[ -n "$tpid" ] || { echo "FAIL: no target under memattach"; kill -9 "$mpid"; exit 1; }
kill -STOP "$mpid"
kill -USR1 "$tpid"
# its truth written, the master waits for the second SIGUSR1
i=0
until [ -s "$d/truth.$tpid" ]; do
	i=$((i + 1))
	[ "$i" -gt 2400 ] && { echo "FAIL: the target did not finish its churn"; bad=1; break; }
	sleep 0.05
done
kill -USR1 "$tpid"
t0=$(now_s)
# memattach, stopped, does not reap it: gone from the run queue is Z
while [ "$(proc_state "$tpid")" != Z ] && fcmp "$(now_s) - $t0 < 15"; do
	sleep 0.05
done
t1=$(now_s)
st=$(proc_state "$mpid")
echo "--- the target exited $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s after its last signal (memattach state $st; load $(cut -d' ' -f1 /proc/loadavg))"
[ "$(proc_state "$tpid")" = Z ] || { echo "FAIL: the target's exit waited more than 15 s for a stopped memattach"; bad=1; }
[ "$st" = T ] || { echo "FAIL: memattach was not stopped all along (state $st)"; bad=1; }
kill -CONT "$mpid"
wait_gone "$mpid" 120 || { echo "FAIL: memattach did not end"; exit 1; }
ma_show "memattach stderr" "$d/err"
grep -q "^memattach: .*(incomplete), written to $d/cap\$" "$d/err" ||
	{ echo "FAIL: the capture is not said to be incomplete (did the agent not give up?)"; bad=1; }
[ "$bad" = 0 ] && echo "exit-cli-stopped: the exit waited about 2 s for a stopped memattach, and said so"
exit "$bad"

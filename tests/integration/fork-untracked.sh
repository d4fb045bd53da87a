#!/bin/sh
# fork-untracked.sh — memattach run without --follow-fork on a pre-forking
# server: the master's capture is exact (its workers' work absent), the
# workers' agents stay inert and cost nothing (no thread, no descriptor of
# the agent's, though it is mapped), and memattach says in one line at the
# end that the 3 children were not tracked; then the same line and exact
# master through --pid (workers forked during the capture).
. "$(dirname "$0")/prefork-common.sh"

bad=0
d=$ma_tmp/d
mkdir "$d"
echo "=== memattach run -o $d/cap -- prefork --wait-signal"
"$MEMATTACH" run -o "$d/cap" -- "$TARGETS/prefork" --wait-signal --truth-dir "$d" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null &
mpid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 30 || { echo "FAIL: prefork did not get ready"; kill -9 "$mpid"; exit 1; }
master=$(sed -n 's/^ready //p' "$ma_tmp/out")
kill -USR1 "$master"
wait_truths "$d" 4 60 || { echo "FAIL: the workload did not finish"; kill -9 "$mpid" "$master"; exit 1; }
# Every worker now waits for the second signal, its workload done.
for w in $(cat "/proc/$master/task/$master/children"); do
	nt=$(ls "/proc/$w/task" | wc -l)
	ns=$(ls -l "/proc/$w/fd" | grep -c 'socket:')
	agent_mapped "$w" || { echo "FAIL: the agent is not mapped in worker $w (the test proves nothing)"; bad=1; }
	echo "--- worker $w: $nt thread(s), $ns socket(s)"
	[ "$nt" = 1 ] || { echo "FAIL: worker $w has $nt threads, want 1 (no agent thread)"; bad=1; }
	[ "$ns" = 0 ] || { echo "FAIL: worker $w holds $ns sockets, want 0"; bad=1; }
done
nt=$(ls "/proc/$master/task" | wc -l)
[ "$nt" -ge 2 ] || { echo "FAIL: the master has $nt threads: its agent is not running (the test proves nothing)"; bad=1; }
kill -USR1 "$master"
wait_gone "$mpid" 60 || { echo "FAIL: memattach run did not end"; exit 1; }
ma_show "stderr" "$ma_tmp/err"
[ "$wrc" = 0 ] || { echo "FAIL: memattach run exited $wrc"; bad=1; }
line="memattach: 3 child processes of pid $master were not tracked (--follow-fork tracks them)"
grep -qxF "$line" "$ma_tmp/err" || { echo "FAIL: no line '$line'"; bad=1; }
ls "$d" | grep -q '^cap\.' && { echo "FAIL: captures of untracked children: $(ls "$d")"; bad=1; }
# Only the master's truth has a capture: check it alone.
mkdir "$d/m"
cp "$d/truth.$master" "$d/m/"
check_prefork "$d/m" "$d/cap" 1 || bad=1
# The same through --pid: the workers forked during the capture are counted.
a=$ma_tmp/attach
mkdir "$a"
"$TARGETS/prefork" --wait-signal --truth-dir "$a" >"$a/out" 2>"$a/terr" </dev/null &
tpid=$!
ma_wait_for "$a/out" '^ready ' 30 || { echo "FAIL: prefork did not get ready"; exit 1; }
attach_bg "$tpid" "$a/cap" || exit 1
kill -USR1 "$tpid"
wait_truths "$a" 4 60 || { echo "FAIL: the workload did not finish"; kill -9 "$mpid" "$tpid"; exit 1; }
stop_attach || bad=1
kill -USR1 "$tpid"
wait_gone "$tpid" 60 || { echo "FAIL: prefork did not exit"; bad=1; }
ma_show "memattach --pid stderr" "$ma_tmp/merr"
line="memattach: 3 child processes of pid $tpid were not tracked (--follow-fork tracks them)"
grep -qxF "$line" "$ma_tmp/merr" || { echo "FAIL: --pid: no line '$line'"; bad=1; }
mkdir "$a/m"
cp "$a/truth.$tpid" "$a/m/"
check_prefork "$a/m" "$a/cap" 1 || bad=1

[ "$bad" = 0 ] && echo "fork-untracked: children inert and free, counted in one line (run and --pid); the master exact"
exit "$bad"

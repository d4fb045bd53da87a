#!/bin/sh
# pid-tree.sh — several running processes at once, each into its own
# capture, one Ctrl-C: a pre-forking server's master and 3 workers
#   1. --pid-tree MASTER (workers forked before the attach): CAP, CAP.<pid>
#   2. --pid MASTER,W1,W2,W3: CAP.<pid> each
#   3. --pid MASTER --follow-fork (workers forked during the capture: the
#      agent, inherited, starts in each): CAP, CAP.<pid>
# Every capture equals its process's own truth exactly (the workers' leaked
# bytes are their own), with a summary line per process.
. "$(dirname "$0")/prefork-common.sh"

bad=0

# Bad input: one line, exit 2, before anything is attached.
bad_input() {
	"$MEMATTACH" "$@" >"$ma_tmp/bout" 2>"$ma_tmp/berr" </dev/null
	local rc=$? n
	n=$(wc -l <"$ma_tmp/berr")
	if [ "$rc" != 2 ] || [ "$n" != 1 ] || ! grep -q '^memattach: ' "$ma_tmp/berr"; then
		echo "FAIL: memattach $* exited $rc with $n lines (want 2, one 'memattach: ' line):"
		cat "$ma_tmp/berr"
		bad=1
	fi
}
bad_input --pid 12,x
bad_input --pid 12,12
bad_input --pid 12,13 --pid-tree 14
bad_input --pid-tree 12 --dump-on-threshold 1MB
bad_input --pid 12 --follow-fork --dump-on-threshold 1MB

d=$ma_tmp/tree
start_server "$d" --prefork || exit 1
capture "$d" 'tracking 4 processes' --pid-tree "$master" -o "$d/cap" || bad=1
[ -f "$d/cap" ] || { echo "FAIL: --pid-tree: the master's capture is not CAP"; bad=1; }

d=$ma_tmp/list
start_server "$d" --prefork || exit 1
pids=$master$(for w in $(cat "/proc/$master/task/$master/children"); do printf ',%s' "$w"; done)
capture "$d" 'tracking 4 processes' --pid "$pids" -o "$d/cap" || bad=1
[ -f "$d/cap" ] && { echo "FAIL: --pid a,b,c: a capture named CAP (each should be CAP.<pid>)"; bad=1; }

d=$ma_tmp/follow
start_server "$d" || exit 1
capture "$d" 'tracking 1 process' --pid "$master" --follow-fork -o "$d/cap" || bad=1

# 4. The whole tree exits during the capture: memattach ends by itself,
# exit 13 (as for one target), every capture complete and exact.
d=$ma_tmp/gone
start_server "$d" --prefork || exit 1
echo "=== memattach --pid-tree $master (the tree exits)"
"$MEMATTACH" --pid-tree "$master" -o "$d/cap" >"$d/mout" 2>"$d/err" </dev/null &
mpid=$!
i=0
while ! grep -q 'tracking 4 processes' "$d/err" && [ "$i" -lt 600 ]; do i=$((i + 1)); sleep 0.05; done
kill -USR1 "$master"
wait_truths "$d" 4 120 || { echo "FAIL: the workload did not finish"; kill -9 "$mpid" "$tpid"; exit 1; }
kill -USR1 "$master"
wait_gone "$tpid" 60 || bad=1
wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end when its targets did"; bad=1; }
ma_show "memattach stderr" "$d/err"
[ "$wrc" = 13 ] || { echo "FAIL: memattach exited $wrc when the tree exited (want 13)"; bad=1; }
grep -q incomplete "$d/err" && { echo "FAIL: an incomplete capture"; bad=1; }
check_prefork "$d" "$d/cap" 4 || bad=1

[ "$bad" = 0 ] && echo "pid-tree: --pid-tree, --pid a,b,c and --pid --follow-fork: every capture exact; the tree's exit ends it (13)"
exit "$bad"

#!/bin/sh
# many-procs.sh — 45 processes at once (--pid-tree on tests/targets/fanout:
# a master and 44 workers, each churning 30000 malloc/free pairs and
# keeping blocks of its own from keep_mine), then Ctrl-C: every one of
# the 45 captures is complete (a trailer, no "(incomplete)" line) and
# equal to its process's own truth exactly, with its live set under
# keep_mine.  The agents' backlogs all flush at the Ctrl-C, on a machine
# the 45 targets load too: an agent that gave up its last flush (2 s
# without the CLI reading it) or a CLI that stopped waiting after 10 s
# left captures incomplete (7 of 45 under load).  The time from Ctrl-C to
# memattach's exit is printed (not judged: wall-clock).
. "$(dirname "$0")/attach-common.sh"
. "$(dirname "$0")/fanout-common.sh"

W=44
N=$((W + 1))
d=$ma_tmp/fan
mkdir "$d"
"$TARGETS/fanout" --wait-signal --workers "$W" --churn 30000 --truth-dir "$d" >"$d/out" 2>"$d/terr" </dev/null &
tpid=$!
ma_wait_for "$d/out" '^ready ' 60 || { echo "FAIL: fanout did not get ready"; kill -9 "$tpid"; exit 1; }
master=$(sed -n 's/^ready //p' "$d/out")
echo "=== memattach --pid-tree $master ($N processes)"
"$MEMATTACH" --pid-tree "$master" -o "$d/cap" >"$d/mout" 2>"$d/err" </dev/null &
mpid=$!
if ! ma_wait_for "$d/err" "tracking $N processes" 300; then
	ma_show "memattach stderr" "$d/err"
	echo "FAIL: memattach never said 'tracking $N processes'"
	kill -9 "$mpid" "$tpid"
	exit 1
fi
kill -USR1 "$master"
i=0
while [ "$(cat "$d"/truth.* 2>/dev/null | grep -c '^{"total_allocations"')" -lt "$N" ]; do
	i=$((i + 1))
	[ "$i" -gt 6000 ] && { echo "FAIL: the workload did not finish"; kill -9 "$mpid" "$tpid"; exit 1; }
	sleep 0.05
done
t0=$(now_s)
kill -INT "$mpid"
wait_gone "$mpid" 300 || { echo "FAIL: memattach did not end after SIGINT"; kill -9 "$tpid"; exit 1; }
rc=$wrc
t1=$(now_s)
kill -USR1 "$master"
wait_gone "$tpid" 60 || { echo "FAIL: fanout did not exit"; exit 1; }
ma_show "memattach stderr" "$d/err"
echo "--- the end took $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s (load $(cut -d' ' -f1-3 /proc/loadavg))"
bad=0
[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc after SIGINT (want 0)"; bad=1; }
fanout_exact "$d" "$N" keep || bad=1
[ "$bad" = 0 ] && echo "many-procs: $N processes, every capture complete and exact after Ctrl-C"
exit "$bad"

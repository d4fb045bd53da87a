#!/bin/sh
# many-procs-exit.sh — 45 processes that exit on their own under
# `memattach run --follow-fork` (tests/targets/fanout in run mode: a
# master and 44 workers started at once, each churning 30000 malloc/free
# pairs, keeping blocks from keep_mine, writing its truth and exiting):
# every one of the 45 captures is complete (a trailer, no "(incomplete)"
# line) and equal to its process's own truth exactly.  Each exit waits
# for its agent's last flush while the CLI reads 45 streams at once; the
# flush gave up after 2 s without the socket signalling room, though the
# CLI was reading (0-4 of 45 incomplete under load); then it waited while
# the CLI read any of its bytes (2 s without that), and still lost 14 of
# 405 captures in 9 runs beside a make -j2 (load 20-30): the CLI, starved
# of CPU, read each stream once every 2-2.3 s.  Now a CLI seen runnable
# is progress too (agent/cli_watch.c; 30 s in all): 0 of 270 in 6 runs.
. "$(dirname "$0")/attach-common.sh"
. "$(dirname "$0")/fanout-common.sh"

W=44
N=$((W + 1))
d=$ma_tmp/fan
mkdir "$d"
echo "=== memattach run --follow-fork -- fanout --workers $W ($N processes)"
"$MEMATTACH" run --follow-fork -o "$d/cap" -- \
	"$TARGETS/fanout" --workers "$W" --churn 30000 --truth-dir "$d" \
	>"$d/out" 2>"$d/err" </dev/null &
mpid=$!
wait_gone "$mpid" 600 || { echo "FAIL: memattach run did not end"; exit 1; }
rc=$wrc
ma_show "memattach stderr" "$d/err"
echo "--- load $(cut -d' ' -f1-3 /proc/loadavg)"
bad=0
[ "$rc" = 0 ] || { echo "FAIL: memattach run exited $rc (want 0)"; bad=1; }
fanout_exact "$d" "$N" || bad=1
[ "$bad" = 0 ] && echo "many-procs-exit: $N processes exited on their own, every capture complete and exact"
exit "$bad"

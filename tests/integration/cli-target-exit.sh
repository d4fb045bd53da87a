#!/bin/sh
# cli-target-exit.sh — a target that exits normally mid-capture: memattach
# --pid finishes a valid capture, says so and exits 13 (issue 13 defect 1:
# it exited 0 without a word).  The target is `head -n 1` reading a FIFO:
# the test ends it by writing the line, after memattach tracks it.
. "$(dirname "$0")/attach-common.sh"
mkfifo "$ma_tmp/fifo" || exit 1
exec 3<>"$ma_tmp/fifo"
head -n 1 <"$ma_tmp/fifo" >"$ma_tmp/hout" &
tpid=$!
wait_in_syscall "$tpid" 0 30 || { kill -9 "$tpid"; exit 1; }   # head in read()
attach_bg "$tpid" "$ma_tmp/t.cap" --duration 300 || { kill -9 "$tpid"; exit 1; }
echo "the end" >&3
if ! wait_gone "$mpid" 60; then
	ma_show "memattach stderr" "$ma_tmp/merr"
	echo "FAIL: memattach did not end after its target exited"
	exit 1
fi
ma_show "memattach stderr" "$ma_tmp/merr"
wait "$tpid"
[ "$(cat "$ma_tmp/hout")" = "the end" ] || { echo "FAIL: the target did not read its line"; exit 1; }
bad=0
if [ "$wrc" != 13 ]; then
	echo "FAIL: memattach exited $wrc when its target exited mid-capture (want 13)"
	bad=1
fi
if ! grep -q "^memattach: pid $tpid exited during the capture; the capture holds what was recorded until then$" "$ma_tmp/merr"; then
	echo "FAIL: no message that the target exited"
	bad=1
fi
# The capture is valid.
"$MEMATTACH" report stats "$ma_tmp/t.cap" >"$ma_tmp/rout" 2>"$ma_tmp/rerr" || { ma_show "report" "$ma_tmp/rerr"; echo "FAIL: the capture does not read"; bad=1; }
ma_show "report stderr" "$ma_tmp/rerr"

exit "$bad"

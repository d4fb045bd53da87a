#!/bin/sh
# attach-itimer.sh — a target signalled all the time by its own interval
# timers (tests/targets/itimer: setitimer SIGALRM every 2 ms, a POSIX timer
# SIGRTMIN every 3 ms, handlers without SA_RESTART, run by a thread of their
# own) is attached, captured while it makes 5000 malloc/free pairs, and
# detached.  The injection must succeed; the main thread, which blocks both
# signals, must never see read() fail with EINTR (untracked it never
# does: only we could cause one); the signals keep coming and interrupting
# the other thread; the capture holds exactly the 5000 pairs of 4242 bytes.
. "$(dirname "$0")/attach-common.sh"
N=5000

mkfifo "$ma_tmp/in" || exit 1
"$TARGETS/itimer" <"$ma_tmp/in" >"$ma_tmp/out" 2>"$ma_tmp/terr" &
tpid=$!
exec 3>"$ma_tmp/in"
ma_wait_for "$ma_tmp/out" '^ready ' 20 || { echo "FAIL: the target did not start"; kill -9 "$tpid"; exit 1; }

"$MEMATTACH" --pid "$tpid" -o "$ma_tmp/t.cap" >/dev/null 2>"$ma_tmp/err" </dev/null &
mpid=$!
ma_wait_tracking || { echo "FAIL: the injection did not survive the timers"; exit 1; }
echo "alloc $N" >&3
ma_wait_for "$ma_tmp/out" "^done $N" 60 || { echo "FAIL: the target did not finish its allocations"; kill -9 "$tpid" "$mpid"; exit 1; }
kill -INT "$mpid"
wait_gone "$mpid" 60
ma_show "memattach stderr" "$ma_tmp/err"
[ "$wrc" = 0 ] || { echo "FAIL: memattach --pid exited $wrc after SIGINT"; kill -9 "$tpid"; exit 1; }
echo quit >&3
wait_gone "$tpid" 20 || { echo "FAIL: the target did not quit"; exit 1; }
[ "$wrc" = 0 ] || { echo "FAIL: the target exited $wrc"; ma_show "target stderr" "$ma_tmp/terr"; exit 1; }
exec 3>&-
"$MEMATTACH" report stats --json "$ma_tmp/t.cap" >"$ma_tmp/t.json" 2>"$ma_tmp/rerr" ||
	{ ma_show "report stderr" "$ma_tmp/rerr"; echo "FAIL: the capture does not read"; exit 1; }
"$PYTHON" - "$ma_tmp/out" "$ma_tmp/t.json" "$N" <<'PYEOF'
import json, sys
t = json.loads(open(sys.argv[1]).read().splitlines()[-1])
r = json.load(open(sys.argv[2]))
n = int(sys.argv[3])
print("target:", t)
got = (r["total_allocations"], r["total_frees"], r["total_bytes_allocated"], r["untracked_frees"])
want = (n, n, n * 4242, 0)
print("capture (allocations, frees, bytes, untracked frees):", got, "want", want)
ok = t["main_eintr"] == 0 and t["sig_eintr"] > 0 and t["alrm"] > 0 and t["rt"] > 0 and got == want
print("PASS" if ok else "FAIL: EINTR in the main thread, no signal seen, or the capture inexact")
sys.exit(0 if ok else 1)
PYEOF

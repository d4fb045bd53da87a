#!/bin/sh
# attach-itimer.sh — a target signalled all the time by its own interval
# timers (tests/targets/itimer: setitimer SIGALRM every 2 ms, a POSIX timer
# SIGRTMIN every 3 ms, handlers without SA_RESTART, taken by its main
# thread, the one the injector stops, in a read() each handler interrupts)
# is attached, captured while it makes 5000 malloc/free pairs, and
# detached.  What must hold, as untracked:
#  - every SIGRTMIN expiration is handled exactly once: deliveries plus
#    their overruns equal the expirations the timer had (a signal we
#    swallowed at a stop, or passed on twice, shows);
#  - no EINTR of main's read() without a handler run (a stop or restart of
#    ours that made one shows); the command thread, which blocks the
#    signals, never sees EINTR;
#  - main still handles its signals after the detach ("tick");
#  - no handler runs on another thread than main (the injector's loader
#    thread and the agent's threads block them; a thread of ours that took
#    the target's signals shows);
#  - the capture holds exactly the 5000 pairs of 4242 bytes.
# Shown failing (see the commit): an injector whose calls run with the
# thread's own signal mask (the loader and agent threads then inherit it):
# off_main > 0.
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
# main still takes its signals after the detach (its mask is its own)
echo tick >&3
ma_wait_for "$ma_tmp/out" '^tick ' 20 || { echo "FAIL: the target did not answer tick"; kill -9 "$tpid"; exit 1; }
grep -q '^tick ok' "$ma_tmp/out" || { echo "FAIL: main handles no more SIGRTMIN after the detach"; kill -9 "$tpid"; exit 1; }
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
checks = [
    (t["rt"] + t["rt_overrun"] == t["rt_expected"],
     f"SIGRTMIN: {t['rt']} handled + {t['rt_overrun']} overruns != {t['rt_expected']} expirations"),
    (t["spurious"] == 0, f"{t['spurious']} EINTR of main's read() with no handler run"),
    (t["off_main"] == 0, f"{t['off_main']} handlers ran on another thread than main"),
    (t["main_eintr"] == 0, f"{t['main_eintr']} EINTR in the command thread, which blocks the signals"),
    (t["sig_eintr"] > 0 and t["alrm"] > 0 and t["rt"] > 0, "the signals did not keep coming"),
    (got == want, "the capture is not exact"),
]
ok = True
for good, what in checks:
    if not good:
        print("FAIL:", what)
        ok = False
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PYEOF

#!/bin/sh
# python-inject-killed.sh — memattach SIGKILLed at every step of the
# injection (50 times, the injector's hook) and at random instants (10,
# fixed seed), then SIGSTOPped during it (9 times: at 6 steps, at 3 random instants), against
# Debian's /usr/bin/python3 running an allocating loop that checks its own
# results: the interpreter must never die, stay stopped or stay traced, and
# its loop keeps counting, with every result right (exit 0 at the end).
. "$(dirname "$0")/inject-faults.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "SKIP: $PY not installed"; exit 77; }
fail() { kill -9 "$tpid" 2>/dev/null; exit 1; }

cat >"$ma_tmp/loop.py" <<'PYEOF'
import signal, sys
stop = False
def on_term(*a):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
n = bad = 0
out = open(sys.argv[1], "w")
print("ready", flush=True)
while not stop:
    blocks = [bytearray(b"x" * (64 + i)) for i in range(200)]
    table = {i: str(i) * 3 for i in range(100)}
    if sum(len(b) for b in blocks) != 200 * 64 + 199 * 100 or table[42] != "424242":
        bad += 1
    n += 1
    if n % 20 == 0:
        out.seek(0)
        out.write("%d\n" % n)
        out.flush()
print("loops=%d bad=%d" % (n, bad), flush=True)
sys.exit(3 if bad else 0)
PYEOF
start_target() {
	"$PY" "$ma_tmp/loop.py" "$ma_tmp/count" >"$ma_tmp/pout" 2>"$ma_tmp/perr" </dev/null &
	tpid=$!
	ma_wait_for "$ma_tmp/pout" '^ready' 20 || { echo "FAIL: python did not start"; return 1; }
}
start_target || fail
target_progress() { head -n 1 "$ma_tmp/count" 2>/dev/null || echo 0; }

kill_runs 50 || fail
# while memattach is stopped the loop runs 20000 times (some 440000 events,
# over 3 times what the agent holds unread: about 2000 loops fill it)
stop_runs 20000 50 || fail
kill -TERM "$tpid"
wait_gone "$tpid" 30 || { echo "FAIL: python did not exit after SIGTERM"; exit 1; }
ma_show "python stderr" "$ma_tmp/perr"
echo "--- python: $(tail -n 1 "$ma_tmp/pout")"
[ "$wrc" = 0 ] || { echo "FAIL: python exited $wrc (3 = a wrong result)"; exit 1; }
echo "python-inject-killed: python survived 60 killed and 9 stopped injections, every result right"

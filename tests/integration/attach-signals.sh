#!/bin/sh
# attach-signals.sh — signals during injection and capture: a target
# (tests/targets/signals) is sent SIGALRM (no SA_RESTART) and SIGWINCH
# (SA_RESTART) one at a time while its main thread sleeps in read(), and a
# SIGCHLD storm at the end.  Untracked, and with memattach --pid attaching
# and capturing meanwhile, every handler must run once per signal sent,
# read() must fail with EINTR exactly once per SIGALRM and never for the
# SA_RESTART ones, and all 64 children must be reaped.
. "$(dirname "$0")/attach-common.sh"

# check OUT — the target's counts (its last line) obey the rules.
check() {
	"$PYTHON" - "$1" "$2" <<'PYEOF'
import json, sys
c = json.loads(open(sys.argv[1]).read().splitlines()[-1])
ok = (c['alrm'] == c['sent_alrm'] == c['eintr'] and c['winch'] == c['sent_winch']
      and c['reaped'] == c['children'])
print("%s (%s): %s" % ("ok" if ok else "FAIL", sys.argv[2], c))
sys.exit(0 if ok else 1)
PYEOF
}

# start — the target, until its controller runs; sets tpid, cpid.
start() {
	# emptied here, not only by the background redirection: that may come
	# after the wait below has read the last round's "ready" line
	: >"$ma_tmp/out"
	"$TARGETS/signals" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
	tpid=$!
	if ! ma_wait_for "$ma_tmp/out" '^ready ' 20; then
		echo "FAIL: the target did not get ready"
		kill -9 "$tpid" 2>/dev/null
		exit 1
	fi
	cpid=$(sed -n 's/^ready [0-9]* \([0-9]*\)$/\1/p' "$ma_tmp/out")
}

# rounds — signals sent so far (the controller's last "sent N").
rounds() { sed -n 's/^sent //p' "$ma_tmp/out" | tail -n 1; }

# finish NAME — stops the controller; the target reports and exits.
finish() {
	kill -USR1 "$cpid"
	if ! wait_gone "$tpid" 60; then
		echo "FAIL: the target did not finish ($1)"
		exit 1
	fi
	[ "$wrc" = 0 ] || { echo "FAIL: the target exited $wrc ($1)"; exit 1; }
	check "$ma_tmp/out" "$1" || exit 1
}

# Untracked: the rules themselves.
start
ma_wait_for "$ma_tmp/out" '^sent ' 60 || { echo "FAIL: no signals sent"; exit 1; }
finish untracked

# Attached: signals flow before, during and after the injection.
start
ma_wait_for "$ma_tmp/out" '^sent ' 60 || { echo "FAIL: no signals sent"; exit 1; }
"$MEMATTACH" --pid "$tpid" -o "$ma_tmp/sig.cap" >/dev/null 2>"$ma_tmp/err" </dev/null &
mpid=$!
while ! grep -q 'tracking pid' "$ma_tmp/err" 2>/dev/null; do
	if ! kill -0 "$mpid" 2>/dev/null; then
		wait "$mpid"
		rc=$?
		ma_show "memattach stderr" "$ma_tmp/err"
		kill -9 "$tpid" "$cpid" 2>/dev/null
		[ "$rc" = 6 ] && { echo "SKIP: ptrace is not permitted here"; exit 77; }
		echo "FAIL: memattach --pid exited $rc before tracking"
		exit 1
	fi
	sleep 0.05
done
# 128 more signals while captured
want=$(($(rounds) + 128))
while [ "$(rounds)" -lt "$want" ]; do
	kill -0 "$tpid" 2>/dev/null || { echo "FAIL: the target died while captured"; exit 1; }
	sleep 0.05
done
kill -INT "$mpid"
wait_gone "$mpid" 60
ma_show "memattach stderr" "$ma_tmp/err"
[ "$wrc" = 0 ] || { echo "FAIL: memattach --pid exited $wrc after SIGINT"; kill -9 "$tpid" "$cpid"; exit 1; }
echo "--- $(rounds) signals sent when the capture ended"
finish attached
"$MEMATTACH" report stats --json "$ma_tmp/sig.cap" >/dev/null 2>"$ma_tmp/rerr" ||
	{ ma_show "report stderr" "$ma_tmp/rerr"; echo "FAIL: the capture does not read"; exit 1; }
echo "PASS: handlers and EINTRs as untracked, with and without memattach"

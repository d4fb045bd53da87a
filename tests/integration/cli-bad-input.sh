#!/bin/sh
# cli-bad-input.sh — bad input gets one clear line and its own exit code at
# once (issue 13 defect 9): --duration 0 or below 1 ns, a thread id as
# --pid, a non-dumpable process of your own, pprof to a terminal, a full
# disk during a capture (said once, with the memattach: prefix).
. "$(dirname "$0")/attach-common.sh"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; }
trap 'cleanup; rm -rf "$ma_tmp"' EXIT
bad=0

# expect CODE NAME CMD... — CMD exits CODE within 20 s with one line
# "memattach...: ..." on stderr (in $ma_tmp/eerr).
expect() {
	local want=$1 name=$2 rc t0 t1
	shift 2
	t0=$(now_s)
	timeout 20 "$@" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null
	rc=$?
	t1=$(now_s)
	echo "--- $name: exit $rc after $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") s: $(head -n 3 "$ma_tmp/eerr")"
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $name: exited $rc, want $want"
		bad=1
	elif [ "$(wc -l <"$ma_tmp/eerr")" != 1 ] || ! grep -q '^memattach[a-z ]*: ' "$ma_tmp/eerr"; then
		echo "FAIL: $name: want one line 'memattach: ...' on stderr"
		bad=1
	fi
}

start_hammer || exit 1
pids="$pids $hpid"

expect 2 "--duration 0" "$MEMATTACH" --pid "$hpid" --duration 0 -o "$ma_tmp/d.cap"
expect 2 "--duration 0.0000000001s" "$MEMATTACH" --pid "$hpid" --duration 0.0000000001s -o "$ma_tmp/d.cap"
grep -q 'at least 1ns' "$ma_tmp/eerr" || { echo "FAIL: the message does not say what a duration must be"; bad=1; }

# A thread id: refused before anything is touched, not after a 5 s wait.
tid=$(ls "/proc/$hpid/task" | grep -v "^$hpid\$" | head -n 1)
t0=$(now_s)
expect 5 "thread id $tid as --pid" "$MEMATTACH" --pid "$tid" -o "$ma_tmp/t.cap"
grep -q "^memattach: $tid is a thread of process $hpid, not a process: give the process's pid ($hpid)\$" "$ma_tmp/eerr" ||
	{ echo "FAIL: the message does not name the thread's process"; bad=1; }
fcmp "$(now_s) - $t0 < 4" || { echo "FAIL: a thread id took 4 s or more to refuse"; bad=1; }
agent_mapped "$hpid" && { echo "FAIL: the agent was loaded for a refused thread id"; bad=1; }
for f in d.cap t.cap; do
	[ -e "$ma_tmp/$f" ] && { echo "FAIL: a refused attach left $f behind"; bad=1; }
done
stop_hammer || bad=1

# A capture to report on: `run` of the counting target.
"$MEMATTACH" run -q -o "$ma_tmp/s.cap" -- "$TARGETS/single" >/dev/null 2>"$ma_tmp/serr" </dev/null ||
	{ ma_show "run stderr" "$ma_tmp/serr"; echo "FAIL: memattach run of single failed"; exit 1; }

# pprof is binary: not to a terminal (script gives it one).
if command -v script >/dev/null; then
	script -qec "'$MEMATTACH' report pprof '$ma_tmp/s.cap'" /dev/null >"$ma_tmp/tty" 2>&1 </dev/null
	rc=$?
	echo "--- pprof to a terminal: exit $rc: $(tr -d '\r' <"$ma_tmp/tty" | head -c 300)"
	[ "$rc" = 2 ] || { echo "FAIL: report pprof to a terminal exited $rc (want 2)"; bad=1; }
	tr -d '\r' <"$ma_tmp/tty" | grep -q '^memattach report: pprof output is binary: give -o FILE' ||
		{ echo "FAIL: no message that pprof needs -o"; bad=1; }
	[ "$(wc -c <"$ma_tmp/tty")" -lt 300 ] || { echo "FAIL: binary went to the terminal"; bad=1; }
else
	echo "--- pprof to a terminal: no script(1) here, case skipped"
fi

if [ "$(id -u)" != 0 ]; then
	echo "--- non-dumpable and full disk: need root, cases skipped"
	exit "$bad"
fi

# A non-dumpable process of your own: the message says that, not "run as
# the process's user" (you are).  Both run as memattach-test.
user=memattach-test
id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user" || { echo "FAIL: useradd $user"; exit 1; }
uid=$(id -u "$user")
gid=$(id -g "$user")
if command -v setpriv >/dev/null && setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$MEMATTACH"; then
	setpriv --reuid="$uid" --regid="$gid" --clear-groups /usr/bin/python3 -c '
import ctypes, sys, time
ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)   # PR_SET_DUMPABLE, 0
print("ready", flush=True)
time.sleep(60)' >"$ma_tmp/ndout" 2>&1 </dev/null &
	ndpid=$!
	pids="$pids $ndpid"
	ma_wait_for "$ma_tmp/ndout" '^ready' 10 || { echo "FAIL: the non-dumpable target did not start"; exit 1; }
	expect 6 "non-dumpable process of one's own" setpriv --reuid="$uid" --regid="$gid" --clear-groups \
		env TMPDIR=/tmp "$MEMATTACH" --pid "$ndpid" -o /dev/null
	grep -q "^memattach: process $ndpid is yours but not dumpable" "$ma_tmp/eerr" ||
		{ echo "FAIL: the message does not say the process is not dumpable"; bad=1; }
else
	echo "--- non-dumpable: $user cannot run $MEMATTACH here, case skipped"
fi

# A full disk: a 1 MiB tmpfs.  One error line, with the prefix; exit 4.
mkdir "$ma_tmp/full" && mount -t tmpfs -o size=1m "memattach-test-full-$$" "$ma_tmp/full" ||
	{ echo "FAIL: cannot mount a tmpfs"; exit 1; }
"$MEMATTACH" run -q -o "$ma_tmp/full/x.cap" -- "$TARGETS/single" >/dev/null 2>"$ma_tmp/ferr" </dev/null
rc=$?
umount "$ma_tmp/full"
ma_show "full disk" "$ma_tmp/ferr"
[ "$rc" = 4 ] || { echo "FAIL: a full disk exited $rc (want 4)"; bad=1; }
n=$(grep -c 'No space left on device' "$ma_tmp/ferr")
[ "$n" = 1 ] || { echo "FAIL: the full disk was said $n times (want once)"; bad=1; }
grep 'No space left on device' "$ma_tmp/ferr" | grep -q '^memattach: ' ||
	{ echo "FAIL: the full disk message lacks the memattach: prefix"; bad=1; }
exit "$bad"

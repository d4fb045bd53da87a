#!/bin/sh
# attach-errors.sh — every refusal of memattach --pid: its exit code
# (cli/util/exit_codes.h) and a one-line "memattach: ..." message, within 30 s;
# where a live target is involved it is left untouched (no agent mapped).
. "$(dirname "$0")/attach-common.sh"
pids=""
cleanup() { for p in $pids; do kill -9 "$p" 2>/dev/null; done; }
bad=0

# expect CODE NAME [ENV=VALUE...] -- memattach ARGS...
expect() {
	local want=$1 name=$2 rc
	shift 2
	local envs=""
	while [ "$1" != -- ]; do envs="$envs $1"; shift; done
	shift
	env $envs timeout 30 "$MEMATTACH" "$@" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null
	rc=$?
	echo "--- $name: exit $rc: $(head -n 3 "$ma_tmp/eerr")"
	if [ "$rc" != "$want" ]; then
		echo "FAIL: $name: memattach $* exited $rc, want $want"
		bad=1
	elif [ "$(wc -l <"$ma_tmp/eerr")" != 1 ] || ! grep -q '^memattach: ' "$ma_tmp/eerr"; then
		echo "FAIL: $name: want one line 'memattach: ...' on stderr"
		bad=1
	fi
}

untouched() {
	if agent_mapped "$1"; then
		echo "FAIL: $2: the agent was loaded into pid $1 anyway"
		bad=1
	fi
}

# A dynamic, idle target.
sleep 30 </dev/null >/dev/null 2>&1 &
dyn=$!
pids="$pids $dyn"
wait_in_syscall "$dyn" "230|35" 30 || exit 1

expect 5 "no such process" -- --pid "$(cat /proc/sys/kernel/pid_max)"
sh -c 'exec "$0" --pid $$ -o "$1"' "$MEMATTACH" "$ma_tmp/self.cap" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null
rc=$?
echo "--- own pid: exit $rc: $(head -n 3 "$ma_tmp/eerr")"
if [ "$rc" != 10 ] || [ "$(wc -l <"$ma_tmp/eerr")" != 1 ]; then
	echo "FAIL: own pid: exit $rc, want 10 and one line"
	bad=1
fi

# A zombie: the subshell's child exits, and the exec'd sleep never reaps it.
(sleep 0.1 & exec sleep 30) </dev/null >/dev/null 2>&1 &
zparent=$!
pids="$pids $zparent"
zombie=""
i=0
while [ -z "$zombie" ] || [ "$(proc_state "$zombie")" != Z ]; do
	zombie=$(cat "/proc/$zparent/task/$zparent/children" 2>/dev/null | tr -d ' ')
	i=$((i + 1)); [ "$i" -gt 100 ] && break
	sleep 0.05
done
if [ "$(proc_state "$zombie")" = Z ]; then
	expect 8 "zombie" -- --pid "$zombie"
else
	echo "FAIL: could not make a zombie"
	bad=1
fi

# pid 2 is kthreadd unless we are in a pid namespace.
if [ "$(sed -n 's/^Name:\t//p' /proc/2/status 2>/dev/null)" = kthreadd ]; then
	expect 9 "kernel thread" -- --pid 2
else
	echo "--- kernel thread: pid 2 is not kthreadd here, case skipped"
fi

"$TARGETS/static" >"$ma_tmp/sout" 2>&1 </dev/null &
spid=$!
pids="$pids $spid"
ma_wait_for "$ma_tmp/sout" '^ready' 10
expect 7 "static binary" -- --pid "$spid" -o "$ma_tmp/static.cap"
untouched "$spid" "static binary"

expect 2 "--duration 10XB" -- --pid "$dyn" --duration 10XB -o "$ma_tmp/d.cap"
expect 2 "--duration -5s" -- --pid "$dyn" --duration -5s -o "$ma_tmp/d.cap"
expect 4 "unwritable output" -- --pid "$dyn" -o /nonexistent/dir/x
untouched "$dyn" "unwritable output"
expect 11 "agent not found" MEMATTACH_AGENT=/nonexistent -- --pid "$dyn" -o "$ma_tmp/na.cap"
untouched "$dyn" "agent not found"
for f in d.cap na.cap static.cap; do
	[ -e "$ma_tmp/$f" ] && { echo "FAIL: a refused attach left its output $f behind"; bad=1; }
done

# Busy: a second memattach on a tracked process.
attach_bg "$dyn" "$ma_tmp/first.cap" || { cleanup; exit 1; }
expect 12 "already tracked" -- --pid "$dyn" -o "$ma_tmp/second.cap"
[ -e "$ma_tmp/second.cap" ] && { echo "FAIL: the refused second memattach left its output behind"; bad=1; }
stop_attach || bad=1
report_json "$ma_tmp/first.cap" "$ma_tmp/first.json" || bad=1

cleanup
exit "$bad"

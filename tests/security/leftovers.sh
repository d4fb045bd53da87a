#!/bin/sh
# leftovers.sh — issue 12.8 (CLI side): memattach leaves nothing that
# accumulates.  MA_KILL_ROUNDS times, root's memattach attaches to a fresh
# process of another user (so each makes an agent copy) and is SIGKILLed,
# on odd rounds as soon as its session directory appears (kill_on_dir,
# inotify), on even rounds
# once it is tracking; the target is then killed.  One more attach must
# sweep all of it: its TMPDIR then holds only the agent copy directory of
# its own (still running) target, and the directory of a memattach run
# still running.  Before the fix: a socket directory per
# kill and an agent copy per target stayed.
. "$(dirname "$0")/seccommon.sh"
rounds=${MA_KILL_ROUNDS:-20}
tmp=$sec_work/tmp

start_target() {
	sec_start_sleeper
	sec_pids="$tpid"
}

i=0 early=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	start_target
	: >"$ma_tmp/err"
	# memattach's pid is known before it runs: a shell that waits for the
	# go, then execs it
	rm -f "$ma_tmp/go"
	mkfifo "$ma_tmp/go"
	TMPDIR=$tmp sh -c 'read x <"$1"; shift; exec "$@"' sh "$ma_tmp/go" \
		"$MEMATTACH" --pid "$tpid" -o "$ma_tmp/c.cap" >/dev/null 2>"$ma_tmp/err" &
	mpid=$!
	sec_pids="$tpid $mpid"
	if [ $((i % 2)) = 1 ]; then
		: >"$ma_tmp/killer"
		"$ma_builddir/tests/security/kill_on_dir" "$tmp" "$mpid" >"$ma_tmp/killer" 2>&1 &
		kpid=$!
		sec_pids="$tpid $mpid $kpid"
		ma_wait_for "$ma_tmp/killer" '^ready' 20 || { echo "FAIL: kill_on_dir did not start"; exit 1; }
	fi
	echo go >"$ma_tmp/go"
	if [ $((i % 2)) = 1 ]; then
		wait "$kpid"
		grep -q "^killed $mpid\$" "$ma_tmp/killer" && early=$((early + 1))
	else
		ma_wait_for "$ma_tmp/err" 'tracking pid' 30 || { echo "FAIL: round $i: memattach did not attach"; ma_show stderr "$ma_tmp/err"; exit 1; }
	fi
	kill -9 "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	kill -9 "$tpid"
	wait "$tpid" 2>/dev/null
done
echo "--- after $rounds SIGKILLs ($early of them with the session directory seen): $(ls "$tmp" | wc -l) entries in TMPDIR"

# A live memattach's directory is not swept: a `memattach run` whose
# command waits on a FIFO keeps its socket directory meanwhile.
rm -f "$ma_tmp/hold"
mkfifo "$ma_tmp/hold"
TMPDIR=$tmp "$MEMATTACH" run -q -o "$ma_tmp/r.cap" -- sh -c 'echo up; read x <"$0"' "$ma_tmp/hold" \
	>"$ma_tmp/rout" 2>"$ma_tmp/rerr" &
rpid=$!
ma_wait_for "$ma_tmp/rout" '^up' 20 || { echo "FAIL: memattach run did not start"; exit 1; }
start_target
sec_pids="$tpid $rpid"
TMPDIR=$tmp timeout -s KILL 60 "$MEMATTACH" --pid "$tpid" --duration 0.1 -q -o "$ma_tmp/c.cap" >/dev/null 2>"$ma_tmp/err"
rc=$?
ma_show "memattach stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: the last attach exited $rc"; exit 1; }
left=$(ls -A "$tmp" | sort)
echo "--- after one more attach: $(echo "$left" | grep -c .) entries: $(echo "$left" | tr '\n' ' ')"
case $left in
"memattach-$rpid-"??????"
memattach-t$tpid".*-??????) ;;
*) echo "FAIL: TMPDIR should hold only the running memattach run's directory and the agent copy of the running target $tpid"; exit 1 ;;
esac
echo go >"$ma_tmp/hold"
wait "$rpid"
rc=$?
ma_show "memattach run stderr" "$ma_tmp/rerr"
[ "$rc" = 0 ] || { echo "FAIL: memattach run exited $rc"; exit 1; }
case $(ls -A "$tmp") in
"memattach-t$tpid".*-??????) ;;
*) echo "FAIL: memattach run left $(ls -A "$tmp")"; exit 1 ;;
esac
echo "PASS: nothing left of $rounds killed memattachs and their targets"

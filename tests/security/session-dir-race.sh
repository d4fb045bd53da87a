#!/bin/sh
# session-dir-race.sh — issue 12.1: root's memattach attaching to another
# user's process must never let that user get a file chowned to them.  The
# user runs chown_racer: on each new session directory it swaps a symlink
# to a root-owned canary with the socket (renameat2 RENAME_EXCHANGE) as
# fast as it can, or (every other directory) swaps the whole session
# directory with a symlink to a directory of root's (victim) until
# memattach is done, so that root's later uses of the path (bind, chown,
# agent copy, cleanup's unlink) land there.
# Each of MA_RACE_ROUNDS attaches is to a fresh process of the user (so
# that each makes an agent copy).  After each, the canary must still be
# root's and victim unchanged; no file outside the session directories may
# belong to the user.
. "$(dirname "$0")/seccommon.sh"
rounds=${MA_RACE_ROUNDS:-100}

canary=$sec_work/canary victim=$sec_work/victim
echo "root's secret" >"$canary"
chmod 0644 "$canary"
mkdir -m 0755 "$victim"
# what root's cleanup would unlink through the swapped directory
echo "root's file" >"$victim/agent.sock"
victim_was=$(ls -lin "$victim")
$as_user "$ma_builddir/tests/security/chown_racer" "$sec_work/tmp" "$canary" 1000000 "$victim" \
	>"$ma_tmp/racer" 2>"$ma_tmp/racer.err" &
rpid=$!
sec_pids="$rpid"
ma_wait_for "$ma_tmp/racer" '^ready' 20 || { echo "FAIL: the racer did not start"; ma_show racer "$ma_tmp/racer.err"; exit 1; }

won=0 moved=0 failed=0 i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	sec_start_sleeper
	sec_pids="$rpid $tpid"
	TMPDIR=$sec_work/tmp timeout -s KILL 60 "$MEMATTACH" --pid "$tpid" --duration 0.01 -q \
		-o "$ma_tmp/c.cap" >/dev/null 2>"$ma_tmp/err"
	rc=$?
	if [ "$rc" != 0 ]; then
		failed=$((failed + 1))
		echo "--- attach $i exited $rc: $(head -c 300 "$ma_tmp/err")"
	fi
	# wait until the racer is done with this attach's directories
	mkdir "$sec_work/tmp/memattach-sync-$i"
	ma_wait_for "$ma_tmp/racer" "^sync memattach-sync-$i\$" 60 || { echo "FAIL: the racer is stuck"; exit 1; }
	rmdir "$sec_work/tmp/memattach-sync-$i"
	if [ "$(stat -c %u "$canary")" != 0 ]; then
		won=$((won + 1))
		echo "--- attach $i: the canary was chowned to $sec_user"
		chown 0:0 "$canary"
	fi
	if [ "$(ls -lin "$victim")" != "$victim_was" ]; then
		moved=$((moved + 1))
		echo "--- attach $i: root changed $victim: $(ls -ln "$victim" | tail -n +2 | tr '\n' ' ')"
		rm -f "$victim"/*
		echo "root's file" >"$victim/agent.sock"
		victim_was=$(ls -lin "$victim")
	fi
	kill -9 "$tpid"
	wait "$tpid" 2>/dev/null
done
kill "$rpid" 2>/dev/null
ma_show "racer (first lines)" "$ma_tmp/racer"
swapped=$(grep -c 'swaps [1-9]' "$ma_tmp/racer")
echo "--- $rounds attaches; the racer swapped in $swapped session directories; canary chowned $won times, victim changed $moved times; $failed attaches failed"
# Anything of the user's outside the session directories (its sleep has none)
stray=$(find "$sec_work" -path "$sec_work/tmp/memattach-*" -prune -o -user "$sec_user" -print)
[ -z "$stray" ] || { echo "FAIL: files of $sec_user outside the session directories: $stray"; exit 1; }
[ "$moved" = 0 ] || { echo "FAIL: root changed $victim (through the user's symlink) $moved times in $rounds attaches"; exit 1; }
[ "$won" = 0 ] || { echo "FAIL: the racer got root's canary chowned to it $won times in $rounds attaches"; exit 1; }
[ "$failed" = 0 ] || { echo "FAIL: $failed of $rounds attaches failed"; exit 1; }
echo "PASS: $rounds attaches, canary untouched"

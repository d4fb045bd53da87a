#!/bin/bash
# session-sweep.sh — the next memattach removes the session directory a
# killed memattach left, and never the directory of one still running,
# even from another pid namespace that shares $TMPDIR (there, every pid of
# ours looks gone: a pid check removed live sessions' directories, their
# sockets with them, which a --follow-fork receiver still needs).
. "$(dirname "$0")/common.sh"

tmp=$ma_tmp/t
mkdir -m 0700 "$tmp" && mkfifo "$ma_tmp/go" || exit 1
# A live session: memattach run waits with its directory until we write.
TMPDIR=$tmp "$MEMATTACH" run -o "$ma_tmp/live.cap" -- \
	sh -c 'read x < "$1"; exec "$2"' sh "$ma_tmp/go" "$TARGETS/single" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null &
mpid=$!
live=""
for _ in $(seq 600); do
	live=$(cd "$tmp" && ls -d memattach-"$mpid"-* 2>/dev/null)
	[ -n "$live" ] && [ -S "$tmp/$live/sock" ] 2>/dev/null && break
	[ -n "$live" ] && [ "$(stat -c %a "$tmp/$live")" = 711 ] && break
	sleep 0.05
done
[ -n "$live" ] || { echo "FAIL: the live session's directory never appeared"; echo x >"$ma_tmp/go"; exit 1; }
# A killed memattach's: 0711 and nobody holds its lock.
mkdir -m 0711 "$tmp/memattach-2147483-dead01" && touch "$tmp/memattach-2147483-dead01/sock"

bad=0
# Another memattach, in a new pid namespace, sweeps the same $TMPDIR.
if unshare --pid --fork --mount-proc true 2>/dev/null; then
	TMPDIR=$tmp unshare --pid --fork --mount-proc "$MEMATTACH" run -o "$ma_tmp/other.cap" -- /bin/true \
		>/dev/null 2>"$ma_tmp/err2" </dev/null || { ma_show "other stderr" "$ma_tmp/err2"; bad=1; }
else
	TMPDIR=$tmp "$MEMATTACH" run -o "$ma_tmp/other.cap" -- /bin/true >/dev/null 2>"$ma_tmp/err2" </dev/null || bad=1
	echo "note: no pid namespace here; swept from ours"
fi
[ -d "$tmp/$live" ] || { echo "FAIL: a running memattach's directory $live was removed by another"; bad=1; }
[ -e "$tmp/memattach-2147483-dead01" ] && { echo "FAIL: a killed memattach's directory was not removed"; bad=1; }

echo x >"$ma_tmp/go"
wait "$mpid" || { echo "FAIL: the live session exited $?"; ma_show "stderr" "$ma_tmp/err"; bad=1; }
[ -d "$tmp/$live" ] && { echo "FAIL: $live outlived its session"; bad=1; }
ma_compare_truth "$ma_tmp/live.cap" || bad=1
[ "$bad" = 0 ] && echo "PASS: live directory kept, killed one removed, capture exact"
exit "$bad"

#!/bin/bash
# Tracker(live_mode=True) watched with `memattach live --connect PATH`,
# driven in tmux as tests/live/live-view.sh does: the program waits for
# the viewer, then holds a 3,333,333-byte bytearray per 'a' (3,333,334 B
# malloc'd in hold_block); after each, the view's top row must show
# exactly the bytes and blocks held there.  `q` leaves the program
# tracking on; the capture it ends with holds every block.  A --connect
# to nothing: exit 5, one line.
set -u
. "$(dirname "$0")/common.sh"
py=$(pa_pythons | tail -1)
[ -n "$py" ] || { echo "SKIP: no CPython 3.8-3.13"; exit 77; }
tmp=$pa_tmp
tv_sock=ma-pylive-$$
. "$pa_here/../lib/tmux-view.sh"
# wait_out REGEX: until the program printed it
wait_out() {
	for _ in $(seq 600); do
		grep -Eq "$1" "$tmp/out" && return 0
		sleep 0.05
	done
	bad "the program never printed /$1/ ($(tr '\n' ' ' < "$tmp/out"); $(cat "$tmp/perr"))"
	return 1
}

# 1. Nothing listens there: one line, exit 5.
"$MEMATTACH" live --connect "$tmp/nothing.sock" > "$tmp/none" 2> "$tmp/none.err" < /dev/null
rc=$?
# (stdout is not a terminal here: that check comes first, exit 21)
[ $rc = 21 ] || bad "live --connect without a terminal: exit $rc, want 21"
tm new-session -d -s none -x 200 -y 50 \
	"'$MEMATTACH' live --connect '$tmp/nothing.sock' 2> '$tmp/none.err'; echo \$? > '$tmp/none.rc'; sleep 600"
for _ in $(seq 600); do [ -s "$tmp/none.rc" ] && break; sleep 0.05; done
[ "$(cat "$tmp/none.rc" 2>/dev/null)" = 5 ] || bad "--connect to nothing: exit $(cat "$tmp/none.rc" 2>/dev/null), want 5"
[ "$(grep -c . "$tmp/none.err")" = 1 ] && grep -q "^memattach: --connect $tmp/nothing.sock: .*no Tracker(live_mode=True) waits there" "$tmp/none.err" ||
	bad "--connect to nothing said: $(cat "$tmp/none.err")"

# 2. The program waits for the viewer, says where.
mkfifo "$tmp/in"
"$py" "$pa_here/live_target.py" "$tmp/live.memcap" < "$tmp/in" > "$tmp/out" 2> "$tmp/perr" &
ppid_=$!
exec 9> "$tmp/in"
for _ in $(seq 600); do grep -q 'waiting for a viewer' "$tmp/perr" && break; sleep 0.05; done
addr=$(sed -n 's/^memattach: waiting for a viewer: memattach live --connect //p' "$tmp/perr")
[ -n "$addr" ] || { bad "the program did not say where to connect: $(cat "$tmp/perr")"; exit 1; }
grep -q tracking "$tmp/out" && bad "the program went on before a viewer came"

# 3. The view: the program's pid, then each block exactly.
tm new-session -d -s live -x 200 -y 50 \
	"'$MEMATTACH' live --connect '$addr' --interval 200ms 2> '$tmp/err'; echo \$? > '$tmp/rc'; sleep 600"
wait_out '^tracking' || { show; exit 1; }
wait_screen "pid $ppid_ " || exit 1
for i in 1 2 3; do
	echo -n a >&9
	wait_out "^held $i\$" || break
	settle || break
	set -- $(row 1)
	[ "${1:-}" = "$(commas $((i * 3333334)))" ] && [ "${3:-}" = "$i" ] && [ "${6:-}" = hold_block ] ||
		{ bad "block $i: first row '$(row 1)', want $(commas $((i * 3333334))) bytes in $i blocks at hold_block"; show; }
done

# 4. q: the viewer exits 0, the program goes on and ends its capture.
tm send-keys -t live q
for _ in $(seq 600); do [ -s "$tmp/rc" ] && break; sleep 0.05; done
[ "$(cat "$tmp/rc" 2>/dev/null)" = 0 ] || { bad "q: memattach live exited $(cat "$tmp/rc" 2>/dev/null)"; show; }
echo -n a >&9
wait_out '^held 4$'
echo -n x >&9
wait_out '^stopped$'
wait $ppid_ || bad "the program exited $?: $(cat "$tmp/perr")"
big=$("$MEMATTACH" report stats --json --min-size 2000000 "$tmp/live.memcap" | "$py" -c \
	'import json,sys; j=json.load(sys.stdin); print(j["total_bytes_allocated"], j["total_allocations"], j["complete"])')
[ "$big" = "$((4 * 3333334)) 4 True" ] || bad "the capture's big blocks: '$big', want '$((4 * 3333334)) 4 True'"
[ $fail = 0 ] && echo "ok: live_mode viewed with memattach live --connect (3 blocks exact), q leaves the program tracking"
exit $fail

#!/bin/bash
# live-view.sh — `memattach live` driven in tmux against tests/live/ticker,
# which allocates only when told (4 x 1234 B from leak_tick per 't', 3 x
# 777 B from worker_leak in the thread "worker" per 'w') and prints what
# it holds.  A refresh shows everything done before it was due, and the
# next one is due after the previous is drawn: once the target said it is
# done, the second refresh after the one on the screen must show it
# exactly (one more for tmux).  Every key is checked by what the screen shows; `q` leaves the
# target running; -o's capture counts exactly the allocations made.
set -u
top=${top_builddir:-.}
ma="$top/memattach"
tk="$top/tests/live/ticker"
tmp=$(mktemp -d)
tv_sock=ma-live-$$
. "$(dirname "$0")/../lib/tmux-view.sh"
export MEMATTACH_STALL_LIMIT=60s
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

# cmd LETTER: the target does it; prints its "what n live B" line's B
cmd() {
	local n
	n=$(grep -c . "$tmp/out")
	echo -n "$1" >&9
	for _ in $(seq 600); do
		[ "$(grep -c . "$tmp/out")" -gt "$n" ] && { tail -1 "$tmp/out" | awk '{print $4}'; return 0; }
		sleep 0.05
	done
	echo "FAIL: the target did not answer '$1'" >&2
	return 1
}

mkfifo "$tmp/in"
"$tk" < "$tmp/in" > "$tmp/out" 2> "$tmp/terr" &
tpid=$!
exec 9> "$tmp/in"
for _ in $(seq 200); do grep -q ready "$tmp/out" && break; sleep 0.05; done
grep -q ready "$tmp/out" || { echo "FAIL: ticker did not start"; exit 1; }

# 1. Not a terminal: one line, exit 21, the target never touched.
"$ma" live --pid "$tpid" > "$tmp/notty" 2> "$tmp/notty.err"
rc=$?
[ $rc = 21 ] || bad "live with stdout not a terminal: exit $rc, want 21"
[ "$(grep -c . "$tmp/notty.err")" = 1 ] && grep -q '^memattach: live needs a terminal' "$tmp/notty.err" ||
	bad "live with stdout not a terminal said: $(cat "$tmp/notty.err")"
grep -q libmemattach-agent "/proc/$tpid/maps" && bad "the agent was loaded although live refused to start"

# 2. The view comes up; each tick shows leak_tick's exact bytes on top.
tm new-session -d -s live -x 200 -y 50 \
	"'$ma' live --pid $tpid --interval 200ms -o '$tmp/live.memcap' 2> '$tmp/err'; echo \$? > '$tmp/rc'; sleep 600"
wait_screen 'refresh [0-9]+ every' || exit 1
ticks=0
for i in 1 2 3; do
	b=$(cmd t) || { bad "tick $i"; break; }
	ticks=$((ticks + 1))
	settle || break
	r=$(row 1)
	set -- $r
	[ "${1:-}" = "$(commas "$b")" ] && [ "${6:-}" = leak_tick ] ||
		{ bad "tick $i: first row '$r', want $(commas "$b") bytes at leak_tick"; show; }
	[ "${3:-}" = $((4 * i)) ] || bad "tick $i: leak_tick holds ${3:-?} blocks, want $((4 * i))"
	grep -q "tracked heap .* ($(commas "$b") B, peak" "$tmp/screen" || { bad "tick $i: header heap is not $b B"; show; }
done
tick_bytes=$b

# 3. Sort keys.
tm send-keys -t live t
wait_screen 'sort total' && { row 2 | grep -q ' main ' || { bad "sort total: main (own 0) is not the second row"; show; }; }
tm send-keys -t live b
wait_screen 'sort blocks' && { set -- $(row 1); [ "${3:-}" = $((4 * ticks)) ] || bad "sort blocks: first row has ${3:-?} blocks"; }
tm send-keys -t live g
# a quiet target grows nowhere: no row at all
wait_screen 'sort growth' && settle && { screen; [ -z "$(row 1)" ] || { bad "sort growth: rows without growth shown"; show; }; }
tm send-keys -t live o
wait_screen 'sort own' && { set -- $(row 1); [ "${6:-}" = leak_tick ] || bad "sort own: leak_tick is not first"; }

# 4. The call tree of the selected row.
tm send-keys -t live c
wait_screen 'call tree of leak_tick' && {
	grep -Eq "^ *$(commas "$tick_bytes") +main " "$tmp/screen" &&
		grep -Eq "^ *$(commas "$tick_bytes") +> leak_tick" "$tmp/screen" ||
		{ bad "the call tree does not show main -> leak_tick with $tick_bytes B"; show; }
}
tm send-keys -t live c
wait_screen 'own bytes +total bytes' >/dev/null

# 5. The thread filter: all, the main thread, the worker.
wb=$(cmd w) || bad "worker"
settle
screen
grep -q 'thread all (2)' "$tmp/screen" || { bad "two threads are not counted"; show; }
tm send-keys -t live f
wait_screen "thread $tpid " && { screen; grep -q worker_leak "$tmp/screen" && { bad "main thread filter shows worker_leak"; show; }; }
tm send-keys -t live f
wait_screen 'thread [0-9]+ worker' && {
	set -- $(row 1)
	[ "${1:-}" = "$(commas "$wb")" ] && [ "${6:-}" = worker_leak ] || { bad "worker filter: first row $*"; show; }
	grep -q leak_tick "$tmp/screen" && { bad "worker filter shows leak_tick"; show; }
}
tm send-keys -t live f
wait_screen 'thread all'

# 6. Pause: the target allocates, the screen stays; a snapshot is exact.
tm send-keys -t live p
wait_screen '\[paused\]'
r_paused=$(refresh_no)
b=$(cmd t) || bad "tick while paused"
ticks=$((ticks + 1))
want=$((b + wb))
for _ in $(seq 100); do   # snapshots until one holds the new tick
	tm send-keys -t live s
	wait_screen 'snapshot written' >/dev/null || break
	grep -q "($want B live)" "$tmp/screen" && break
	sleep 0.1
done
snap=$(sed -n 's/.*snapshot written: \([^ ]*\) .*/\1/p' "$tmp/screen")
grep -q "($want B live)" "$tmp/screen" || { bad "no snapshot holds $want B"; show; }
[ "$(refresh_no)" = "$r_paused" ] || bad "paused, yet the view refreshed ($r_paused -> $(refresh_no))"
set -- $(row 1)
[ "${1:-}" = "$(commas "$tick_bytes")" ] || bad "paused, yet leak_tick changed to ${1:-?}"
if [ -n "$snap" ] && [ -f "$snap" ]; then
	"$ma" report stats --json "$snap" | "$PYTHON" -c "
import json, sys
d = json.load(sys.stdin)
assert d['leaked_bytes'] == $want, ('snapshot leaked_bytes', d['leaked_bytes'], $want)
" || bad "the snapshot is not the live set ($want B)"
	rm -f "$snap"
else
	bad "snapshot file '$snap' missing"
fi
tm send-keys -t live p
settle
set -- $(row 1)
[ "${1:-}" = "$(commas "$b")" ] || { bad "resumed: leak_tick shows ${1:-?}, want $b"; show; }

# 7. Help, and a resize.
tm send-keys -t live '?'
wait_screen 'this help \(any key closes it\)'
tm send-keys -t live x
tm resize-window -t live -x 120 -y 30
for _ in $(seq 200); do
	screen
	[ "$(wc -l < "$tmp/screen")" = 30 ] && ! grep -q 'any key closes' "$tmp/screen" && row 1 | grep -q leak_tick && break
	sleep 0.05
done
[ "$(wc -l < "$tmp/screen")" = 30 ] || bad "resized to 30 lines, the screen has $(wc -l < "$tmp/screen")"
awk 'length > 120 {exit 1}' "$tmp/screen" || bad "lines wider than the resized terminal"
row 1 | grep -q "^ *$(commas "$b") .* leak_tick" || { bad "after the resize: first row $(row 1)"; show; }

# 8. q: memattach exits 0, the target goes on and answers.
tm send-keys -t live q
for _ in $(seq 600); do [ -s "$tmp/rc" ] && break; sleep 0.05; done
[ "$(cat "$tmp/rc" 2>/dev/null)" = 0 ] || { bad "q: memattach exited $(cat "$tmp/rc" 2>/dev/null)"; ma_err; }
kill -0 $tpid 2>/dev/null || bad "the target is gone after q"
state=$(awk '{print $3}' "/proc/$tpid/stat")
[ "$state" = S ] || [ "$state" = R ] || bad "the target's state after q is $state"
b2=$(cmd t) || bad "the target does not answer after q"
[ "${b2:-0}" = $((b + 4 * 1234)) ] || bad "after q the target holds $b2, want $((b + 4 * 1234))"
[ -s "$tmp/terr" ] && bad "the target wrote on stderr: $(cat "$tmp/terr")"

# 9. -o: the session as a capture: every allocation of the session, exactly.
"$ma" report stats --json "$tmp/live.memcap" > "$tmp/stats.json" 2> "$tmp/stats.err" ||
	bad "report stats on the live capture: $(cat "$tmp/stats.err")"
"$PYTHON" - "$tmp/stats.json" "$ticks" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
ticks = int(sys.argv[2])
want = {"total_allocations": 4 * ticks + 3, "leaked_bytes": ticks * 4 * 1234 + 3 * 777, "total_frees": 0}
for k, v in want.items():
    if d[k] != v:
        print(f"FAIL: live capture {k} = {d[k]}, want {v}")
        sys.exit(1)
PY
echo -n q >&9
wait $tpid
[ $fail = 0 ] && echo "PASS: live view"
exit $fail

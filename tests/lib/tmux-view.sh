# tmux-view.sh — sourced by the tests that drive `memattach live` in tmux
# (tests/live/live-view.sh, tests/sample/live.sh, tests/pyapi/live.sh).
# The caller sets tmp (a scratch directory, removed on exit) and tv_sock
# (a tmux server name of its own), runs the view in the tmux session
# "live" with its stderr in $tmp/err, then reads the screen with these.
# fail/bad: a check failed (the test goes on and exits $fail).
command -v tmux >/dev/null || { echo "SKIP: tmux is needed (apt-get install tmux)"; exit 77; }
fail=0
bad() { echo "FAIL: $*"; fail=1; }
tm() { tmux -L "$tv_sock" "$@"; }
# On exit: the tmux server, the fd 9 some tests feed a target through,
# the background jobs, the scratch directory.
tv_cleanup() {
	tm kill-server 2>/dev/null
	exec 9>&- 2>/dev/null
	kill $(jobs -p) 2>/dev/null
	rm -rf "$tmp"
}
trap tv_cleanup EXIT

screen() { tm capture-pane -p -t live > "$tmp/screen"; }
show() { echo "--- screen:"; sed 's/^/    /' "$tmp/screen"; ma_err; }
ma_err() { [ -s "$tmp/err" ] && { echo "--- memattach stderr:"; sed 's/^/    /' "$tmp/err"; }; }
# wait_screen REGEX: until the screen matches (30 s at most)
wait_screen() {
	for _ in $(seq 600); do
		screen
		grep -Eq "$1" "$tmp/screen" && return 0
		sleep 0.05
	done
	bad "the screen never showed /$1/"
	show
	return 1
}
refresh_no() { screen; sed -n 's/.* refresh \([0-9]*\) every.*/\1/p' "$tmp/screen" | head -1; }
# settle: refreshes until the screen holds what is done.  The second
# refresh after the one drawn when the target said "done" holds it; one
# more allows for tmux drawing a refresh late.
settle() {
	local r0
	r0=$(refresh_no)
	[ -n "$r0" ] || { bad "no refresh number on the screen"; show; return 1; }
	for _ in $(seq 600); do
		[ "$(refresh_no)" -ge $((r0 + 3)) ] && return 0
		sleep 0.05
	done
	bad "the view stopped refreshing at $(refresh_no)"
	show
	return 1
}
commas() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
# row N: the fields of the N-th row of the table (1 = first)
row() { awk -v n="$1" 'f && ++k == n {print; exit} /own bytes +total bytes/ {f=1}' "$tmp/screen"; }

#!/bin/bash
# live-bench.sh BUILDDIR — memattach live, then --every 1s, on
# bench/live_target (1,000,000 live blocks in 10,000 stacks, then one
# block freed and allocated again every millisecond).  Prints the CLI's
# peak memory, its CPU while following the churn, and the view's own CPU
# per refresh (memattach live's last line).
set -u
b=${1:-.}
ma=$b/memattach
t=$b/bench/live_target
tmp=$(mktemp -d)
sock=ma-bench-live-$$
CHURN=${CHURN_SECONDS:-20}
trap 'tmux -L "$sock" kill-server 2>/dev/null; exec 9>&- 2>/dev/null; kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
export MEMATTACH_STALL_LIMIT=60s

start_target() {
	rm -f "$tmp/in"; mkfifo "$tmp/in"
	"$t" < "$tmp/in" > "$tmp/out" &
	tpid=$!
	exec 9> "$tmp/in"
	until grep -q ready "$tmp/out"; do sleep 0.05; done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm() { awk '/VmHWM/ {print $2 " kB"}' "/proc/$1/status"; }
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$1/status"; }
allocate() {
	echo -n a >&9
	until grep -q allocated "$tmp/out"; do sleep 0.1; done
}
churn_window() {   # pid: CPU % of pid over CHURN seconds
	local c0 c1
	c0=$(cpu_ticks "$1"); sleep "$CHURN"; c1=$(cpu_ticks "$1")
	echo "$(( (c1 - c0) * 100 / $(getconf CLK_TCK) / CHURN ))%"
}

live_run() {   # what: idle | churn
	echo "== memattach live --interval 1s: 1,000,000 live blocks in 10,000 stacks, target $1"
	start_target
	tmux -L "$sock" new-session -d -s b -x 200 -y 50 "exec '$ma' live --pid $tpid 2> '$tmp/err'"
	mpid=$(tmux -L "$sock" display -p -t b '#{pane_pid}')
	until tmux -L "$sock" capture-pane -p -t b | grep -q 'refresh [0-9]'; do sleep 0.1; done
	allocate
	until tmux -L "$sock" capture-pane -p -t b | grep -q '48,000,000 B, peak'; do sleep 0.1; done
	echo "after the million: CLI RSS $(rss "$mpid"), peak $(hwm "$mpid")"
	[ "$1" = churn ] && echo -n c >&9
	echo "CLI CPU over ${CHURN}s ($1): $(churn_window "$mpid")"
	tmux -L "$sock" capture-pane -p -t b | head -11
	echo "CLI RSS $(rss "$mpid"), peak $(hwm "$mpid")"
	tmux -L "$sock" send-keys -t b q
	while kill -0 "$mpid" 2>/dev/null; do sleep 0.1; done
	cat "$tmp/err"
	echo -n q >&9; wait $tpid
}
live_run idle
live_run churn

echo "== memattach --pid --every 1s --keep 2: the same target"
start_target
mkdir "$tmp/snaps"
"$ma" --pid "$tpid" --every 1s --keep 2 -o "$tmp/snaps" 2> "$tmp/err" &
mpid=$!
until grep -q watching "$tmp/err"; do sleep 0.1; done
allocate
echo -n c >&9
sleep 3
echo "after the million: CLI RSS $(rss "$mpid")"
echo "CLI CPU while the target churns, a snapshot a second: $(churn_window "$mpid")"
echo "CLI RSS $(rss "$mpid"), peak $(hwm "$mpid"); snapshots kept: $(ls "$tmp/snaps" | wc -l), $(du -sh "$tmp/snaps" | cut -f1)"
kill -INT $mpid; wait $mpid
tail -2 "$tmp/err"
echo -n q >&9; wait $tpid

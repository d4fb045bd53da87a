# stall-common.sh — sourced by attach-stall.sh and attach-stall-memfd.sh:
# spingap (--busy-loader with libslowctor) attached in its windows, the
# skip where realtime scheduling is not permitted (see attach-stall.sh for
# why the bound needs it).  Sources attach-common.sh.
ma_integration=$(dirname "$0")/../integration
. "$ma_integration/attach-common.sh"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
trap 'kill -9 ${up:-} ${gp:-} ${mpid:-} 2>/dev/null; rm -rf "$ma_tmp"' EXIT
spin=$ma_builddir/tests/threshold/spingap
slowlib=$ma_builddir/tests/threshold/.libs/libslowctor.so
[ -r "$slowlib" ] || { echo "FAIL: $slowlib not built"; exit 1; }
if ! chrt -f 1 true 2>/dev/null; then
	echo "SKIP: realtime scheduling is not permitted here (memattach's tracer could not keep"
	echo "      out of the machine's load, so a long stop would not be its own doing)"
	exit 77
fi

# stall_attach K CAP — spingap $gp's K-th window opened, memattach --pid
# $gp attached in it and tracking (attach_bg), writing CAP.
stall_attach() {
	kill -USR1 "$gp"
	ma_wait_for "$ma_tmp/out" "^open $1\$" 10 || { echo "FAIL: window $1 did not open"; exit 1; }
	attach_bg "$gp" "$2" || exit 1
}

# stall_detach K OTHER — the window closed (spingap measured both threads;
# OTHER: the tid it names last), then memattach ended by SIGINT: exit 0.
stall_detach() {
	kill -USR1 "$gp"
	ma_wait_for "$ma_tmp/out" "^window $1 tid=$2 " 10 || { echo "FAIL: window $1 did not close"; exit 1; }
	stop_attach || bad "window $1 of pid $gp"
}

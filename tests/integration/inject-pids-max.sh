#!/bin/sh
# inject-pids-max.sh — a target at its cgroup's pids.max (issue 13): the
# injector's loader thread cannot start, so memattach --pid exits 22 with
# one line naming the limit, the target's maps are the same before and
# after (inject-common.sh's refusal) and it runs on: errno_keeper, whose
# errno must not change (exit 3) and which has a thread stack in glibc's
# cache (a failed pthread_create keeps the stack it mapped there).
# The cgroup: a child of its own (a unique name) in the cgroup v2
# hierarchy when v2 has the pids controller, else in a v1 pids hierarchy
# (this machine's kind: v2 without pids, v1 pids mounted); the target is
# moved in, pids.max set to its pids.current; always moved back and the
# cgroup removed (and +pids taken off the v2 root's subtree_control when
# this test put it there).  Skipped (77) with the reason when neither can
# be written.  Needs root.
. "$(dirname "$0")/inject-common.sh"
cleanup() {
	[ -n "${epid:-}" ] && [ -n "${was:-}" ] && echo "$epid" >"$was/cgroup.procs" 2>/dev/null
	kill -9 ${epid:-} ${mpid:-} 2>/dev/null
	wait 2>/dev/null
	[ -n "${cg:-}" ] && [ -d "$cg" ] && rmdir "$cg"
	[ -n "${enabled:-}" ] && echo -pids >"$enabled/cgroup.subtree_control" 2>/dev/null
	rm -rf "$ma_tmp"
}
trap cleanup EXIT
fail() { exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (to make a cgroup and move the target into it)"; exit 77; }

# pids_hierarchy — sets top (where our cgroup goes) and kind, or why
# there is none.
pids_hierarchy() {
	local v2 v1
	v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
	v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)pids(,|$)/ { print $2; exit }' /proc/self/mounts)
	if [ -n "$v2" ] && grep -qw pids "$v2/cgroup.controllers" 2>/dev/null; then
		top=$v2 kind=v2
		if ! grep -qw pids "$v2/cgroup.subtree_control"; then
			echo +pids >"$v2/cgroup.subtree_control" 2>/dev/null ||
				{ why="cgroup v2 at $v2 has pids but it cannot be enabled for its children"; return 1; }
			enabled=$v2
		fi
	elif [ -n "$v1" ]; then
		top=$v1 kind=v1
	else
		why="no cgroup pids controller: cgroup v2 ${v2:-(not mounted)} lists no pids, and no v1 pids hierarchy is mounted"
		return 1
	fi
}

pids_hierarchy || { echo "SKIP: $why"; exit 77; }
cg=$top/ma-inject-pids-max-$$
mkdir "$cg" 2>/dev/null || { echo "SKIP: cannot make a cgroup in $top ($kind): read-only here"; cg=; exit 77; }

"$TARGETS/errno_keeper" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null &
epid=$!
ma_wait_for "$ma_tmp/eout" '^ready ' 10 || { echo "FAIL: errno_keeper did not start"; fail; }
if [ "$kind" = v2 ]; then
	was=$top$(sed -n 's/^0::\(.*\)$/\1/p' "/proc/$epid/cgroup")
else
	was=$top$(sed -n 's/^[0-9]*:pids:\(.*\)$/\1/p' "/proc/$epid/cgroup")
fi
echo "$epid" >"$cg/cgroup.procs" || { echo "FAIL: cannot move pid $epid into $cg"; fail; }
cur=$(cat "$cg/pids.current")
[ "$cur" = "$(ls "/proc/$epid/task" | wc -l)" ] ||
	{ echo "FAIL: $cg holds $cur tasks, the target has $(ls "/proc/$epid/task" | wc -l)"; fail; }
echo "$cur" >"$cg/pids.max" || fail
echo "=== pid $epid in $cg ($kind), pids.max = pids.current = $cur: pthread_create fails"
refused "$epid" "could not start a thread for the attach (pthread_create: Resource temporarily unavailable): it is at its thread limit (RLIMIT_NPROC, its cgroup's pids.max)" || fail
[ "$(cat "$cg/pids.current")" = "$cur" ] || { echo "FAIL: pids.current is $(cat "$cg/pids.current") after, $cur before"; fail; }
echo "$epid" >"$was/cgroup.procs" || fail
kill -USR2 "$epid"
wait_gone "$epid" 30 || { echo "FAIL: errno_keeper did not exit"; fail; }
epid=
ma_show "errno_keeper" "$ma_tmp/eout"
[ "$wrc" = 0 ] || { echo "FAIL: errno_keeper exited $wrc (3: its errno changed under it)"; fail; }
echo "inject-pids-max: at its cgroup's pids.max ($kind), refused with exit 22 naming the limit, maps unchanged; the target ran on"

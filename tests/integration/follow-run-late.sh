#!/bin/sh
# follow-run-late.sh — memattach run --follow-fork meets CMD's first
# connection only after CMD has exited (a loaded machine: seen in CI as
# "the agent never started" and CMD's capture in CAP.<pid>.2).  CMD's
# pid is then gone, and the connection must still be taken for CMD (by
# the identity memattach read of its child before: pidfs inode, start
# time), not for a new process that got the pid.  tests/targets/late_cli
# stops memattach until CMD has exited, then resumes it: the order is
# the target's, not the clock's.  Every process's capture must
# be its own exactly (CAP the master's, named prefork: the program that
# connected), for a plain tree and for one
# whose worker execs (execveat, as in the CI run).
. "$(dirname "$0")/prefork-common.sh"

bad=0
for args in "" "--exec-worker --exec-env execveat"; do
	r=$(mktemp -d "$ma_tmp/run.XXXXXX")
	echo "=== memattach run --follow-fork -o $r/cap -- late_cli prefork $args"
	# shellcheck disable=SC2086 # args: words
	"$MEMATTACH" run --follow-fork -o "$r/cap" -- "$TARGETS/late_cli" "$TARGETS/prefork" $args --truth-dir "$r" \
		>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
	rc=$?
	ma_show "stderr" "$ma_tmp/err"
	[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc"; bad=1; }
	if grep -q "never started\|incomplete" "$ma_tmp/err"; then
		echo "FAIL: CMD's connection was not taken for CMD"
		bad=1
	fi
	# named as the program that connected (late_cli exec'd it)
	grep -q "(prefork): .* written to $r/cap\$" "$ma_tmp/err" || { echo "FAIL: CAP's line does not name prefork"; bad=1; }
	check_prefork "$r" "$r/cap" 4 || bad=1
	for c in "$r"/cap.*.*; do
		[ -e "$c" ] && { echo "FAIL: a second capture of one pid: $c"; bad=1; }
	done
done

[ "$bad" = 0 ] && echo "follow-run-late: CMD's first connection, met after CMD's end, is CMD's (CAP exact), its tree's their own"
exit "$bad"

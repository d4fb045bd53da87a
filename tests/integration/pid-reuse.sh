#!/bin/sh
# pid-reuse.sh — a followed child exits and a new child of the tree gets
# the same pid during the capture: forced in a pid namespace of our own
# (unshare --pid, /proc/sys/kernel/ns_last_pid written by the target,
# tests/targets/pidreuse).  Neither capture is overwritten or mixed: the
# first process with the pid writes CAP.<pid>, the second CAP.<pid>.2,
# each equal to its own truth exactly with its live set under its own
# function (keep_a, keep_b) — when the first ended normally (its trailer
# came) and when it was killed (SIGKILL: no trailer; its events were all
# sent, memattach_agent_sync).  Then again with memattach held (stopped by
# the target) until the pid has its second process: memattach tells them
# apart by the identity each agent sends first (ProcessIdentity).
. "$(dirname "$0")/attach-common.sh"

if ! unshare --pid --fork --mount-proc true 2>"$ma_tmp/uerr"; then
	echo "SKIP: cannot make a pid namespace here: $(cat "$ma_tmp/uerr")"
	exit 77
fi
bad=0
# held: memattach is stopped by the target from before each first child's
# fork until the second child is reaped, so it accepts the first child's
# connection only once the pid is the second one's (the race that put both
# processes in one capture); sh stays the namespace's init so that the
# target may stop memattach (an init ignores SIGSTOP from inside).
for mode in plain held; do
	d=$ma_tmp/$mode
	hold=
	[ "$mode" = held ] && hold=--hold-parent
	# pidreuse exits 77 when another task of the namespace (a thread the
	# CLI started meanwhile) took the pid between its ns_last_pid and its
	# fork: the case was not set up, so it is set up again (3 tries)
	for try in 1 2 3; do
		rm -rf "$d"
		mkdir "$d"
		echo "=== $mode: unshare --pid --fork --mount-proc sh -c 'memattach run --follow-fork -o $d/cap -- pidreuse $hold'"
		unshare --pid --fork --mount-proc sh -c '"$@"; exit $?' sh "$MEMATTACH" run --follow-fork -o "$d/cap" -- \
			"$TARGETS/pidreuse" --truth-dir "$d" $hold >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
		rc=$?
		ma_show "stderr" "$ma_tmp/err"
		[ "$rc" = 77 ] || break
		echo "--- try $try: no pid reused (the case not set up)"
	done
	[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc (pidreuse: 77 = no pid reused)"; bad=1; }
	n=0
	for t in "$d"/truth.*.*; do
		[ -f "$t" ] || continue
		n=$((n + 1))
		gen=${t##*.}
		p=${t%.*}
		p=${p##*.}
		c=$d/cap.$p
		fn=keep_a
		[ "$gen" = 2 ] && { c=$d/cap.$p.2; fn=keep_b; }
		echo "--- pid $p, process $gen: $(cat "$t")"
		echo "--- capture $c"
		[ -f "$c" ] || { echo "FAIL: no capture $c"; bad=1; continue; }
		report_json "$c" "$d/report.$p.$gen" || { bad=1; continue; }
		"$PYTHON" "$ma_here/compare.py" "$t" "$d/report.$p.$gen" || bad=1
		"$MEMATTACH" report folded --leaks "$c" 2>/dev/null | grep -q ";$fn;" ||
			{ echo "FAIL: the live set of $c is not under $fn"; bad=1; }
	done
	[ "$n" = 4 ] || { echo "FAIL: $mode: $n children wrote their truth, want 4"; bad=1; }
done
[ "$bad" = 0 ] && echo "pid-reuse: a reused pid's two processes in CAP.<pid> and CAP.<pid>.2, each exact (exit and SIGKILL; also with memattach held until the pid was reused)"
exit "$bad"

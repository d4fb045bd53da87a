#!/bin/sh
# follow-fork.sh — memattach run --follow-fork on a pre-forking server:
# the master's capture (CAP) and each worker's (CAP.<pid>) equal what each
# process counted itself, exactly; a worker's capture starts empty at its
# fork (its leaked bytes are its own, a block inherited and freed is an
# untracked free).  Then the same server started by `sh -c` (forked by sh,
# exec'd in the child): followed through the fork and the exec.  Then
# forks while threads of the master allocate; then workers ending with _exit.
. "$(dirname "$0")/prefork-common.sh"

bad=0
d=$ma_tmp/direct
mkdir "$d"
echo "=== memattach run --follow-fork -o $d/cap -- prefork"
"$MEMATTACH" run --follow-fork -o "$d/cap" -- "$TARGETS/prefork" --truth-dir "$d" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc"; bad=1; }
check_prefork "$d" "$d/cap" 4 || bad=1
ncap=$(ls "$d" | grep -c '^cap')
[ "$ncap" = 4 ] || { echo "FAIL: $ncap capture files, want 4 (CAP and 3 CAP.<pid>)"; bad=1; }
for t in "$d"/truth.*; do
	p=${t##*.}
	grep -q "^memattach: pid $p (prefork): tracked heap .* written to $d/cap" "$ma_tmp/err" ||
		{ echo "FAIL: no summary line for pid $p"; bad=1; }
done

s=$ma_tmp/sh
mkdir "$s"
echo "=== memattach run --follow-fork -o $s/cap -- sh -c 'prefork; exit'"
"$MEMATTACH" run --follow-fork -o "$s/cap" -- sh -c "'$TARGETS/prefork' --truth-dir '$s'; exit \$?" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork -- sh -c exited $rc"; bad=1; }
# sh's own capture is CAP; the server's master, forked by sh, is CAP.<pid>.
for t in "$s"/truth.*; do
	[ -f "$s/cap.${t##*.}" ] || { echo "FAIL: no capture $s/cap.${t##*.} for the server's pid ${t##*.}"; bad=1; }
done
grep -q "^memattach: pid [0-9]* (sh): .* written to $s/cap\$" "$ma_tmp/err" ||
	{ echo "FAIL: no capture of sh itself"; bad=1; }
check_prefork "$s" "$s/cap" 4 || bad=1
cp "$ma_tmp/err" "$ma_tmp/sh.err"
# Forks while two threads of the master allocate (their batches, the
# agent's locks at the fork): 3 rounds, every capture exact.
for round in 1 2 3; do
	t=$ma_tmp/threads$round
	mkdir "$t"
	echo "=== round $round: memattach run --follow-fork -o $t/cap -- prefork --threads"
	"$MEMATTACH" run --follow-fork -o "$t/cap" -- "$TARGETS/prefork" --threads --truth-dir "$t" \
		>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
	rc=$?
	ma_show "stderr" "$ma_tmp/err"
	[ "$rc" = 0 ] || { echo "FAIL: round $round: memattach run --follow-fork exited $rc"; bad=1; }
	check_prefork "$t" "$t/cap" 4 || bad=1
done
# Workers that end with _exit (no destructor: the agent's _exit hook sends
# their last batches and trailer), and sh above (dash ends with _exit):
# every capture exact and complete.
grep -q "(sh): .*(incomplete)" "$ma_tmp/sh.err" && { echo "FAIL: sh's capture is incomplete"; bad=1; }
x=$ma_tmp/exitraw
mkdir "$x"
echo "=== memattach run --follow-fork -o $x/cap -- prefork --exit-raw"
"$MEMATTACH" run --follow-fork -o "$x/cap" -- "$TARGETS/prefork" --exit-raw --truth-dir "$x" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork -- prefork --exit-raw exited $rc"; bad=1; }
check_prefork "$x" "$x/cap" 4 || bad=1
n=$(grep -c "(incomplete)" "$ma_tmp/err")
[ "$n" = 0 ] && echo "--- the 3 workers' captures are complete" ||
	{ echo "FAIL: $n captures incomplete after _exit"; bad=1; }
[ "$bad" = 0 ] && echo "follow-fork: every process of the tree captured exactly"
exit "$bad"

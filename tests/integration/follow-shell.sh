#!/bin/sh
# follow-shell.sh — the attached master runs commands through a shell
# (memattach --pid MASTER --follow-fork): glibc's system() and popen()
# start /bin/sh with the process's environ from inside libc, and the
# attached process's environ has no LD_PRELOAD.  tests/targets/shellout
# runs `shellout --child` twice by system() and twice by popen(); each
# child's capture CAP.<pid> must equal its truth, its live set under
# child_keep; the statuses system() and pclose() return must be the
# children's; the master's environ after must be the array of before,
# entry for entry, ours gone — also with a thread calling setenv and
# unsetenv while the system() children run (its values kept); our entries
# gone after the session when a thread was cancelled in system(), and from
# a process another thread forked meanwhile.  Under run --follow-fork
# (our entries there from the start) the hooks leave environ alone.  And an attached
# python3 whose os.system and os.popen run the same children.
. "$(dirname "$0")/prefork-common.sh"

# check_children DIR CAP WANT — each DIR/truth.<pid> against CAP.<pid>.
check_children() {
	local dir=$1 cap=$2 want=$3 n=0 bad=0 t p
	for t in "$dir"/truth.*; do
		[ -f "$t" ] || continue
		n=$((n + 1))
		p=${t##*.}
		echo "--- pid $p: $(cat "$t")"
		[ -f "$cap.$p" ] || { echo "FAIL: no capture $cap.$p for child $p"; bad=1; continue; }
		report_json "$cap.$p" "$dir/report.$p" || { bad=1; continue; }
		"$PYTHON" "$ma_here/compare.py" "$t" "$dir/report.$p" || bad=1
		"$MEMATTACH" report folded --leaks "$cap.$p" 2>/dev/null | grep -q ";child_keep;" ||
			{ echo "FAIL: pid $p's live set is not under child_keep"; bad=1; }
	done
	[ "$n" = "$want" ] || { echo "FAIL: $n children wrote their truth, want $want"; bad=1; }
	return "$bad"
}

# follow DIR PATTERN [WANT] — memattach --pid $master --follow-fork around
# the master's calls (first SIGUSR1 to its "done" line in DIR/out), the
# master's PATTERN line at its end, then WANT (4) children's captures
# against their truth.
follow() {
	local d=$1 i=0 want=${3:-4}
	: >"$d/err"   # the last call's "tracking" must not end the wait below
	"$MEMATTACH" --pid "$master" --follow-fork -o "$d/cap" >"$d/mout" 2>"$d/err" </dev/null &
	mpid=$!
	while ! grep -q 'tracking 1 process' "$d/err"; do
		i=$((i + 1))
		if ! kill -0 "$mpid" 2>/dev/null || [ "$i" -gt 600 ]; then
			ma_show "memattach stderr" "$d/err"
			kill -9 "$mpid" "$tpid" 2>/dev/null
			echo "FAIL: memattach never said it was tracking"
			return 1
		fi
		sleep 0.05
	done
	kill -USR1 "$master"
	ma_wait_for "$d/out" '^done ' 120 || { echo "FAIL: the master did not finish"; kill -9 "$mpid" "$tpid"; return 1; }
	kill -INT "$mpid"
	wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGINT"; return 1; }
	local rc=$wrc
	kill -USR1 "$master"
	wait_gone "$tpid" 60 || { echo "FAIL: the master did not exit"; return 1; }
	ma_show "master stdout" "$d/out"
	ma_show "master stderr" "$d/terr"
	ma_show "memattach stderr" "$d/err"
	[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc after SIGINT (want 0)"; return 1; }
	[ "$wrc" = 0 ] || { echo "FAIL: the master exited $wrc"; return 1; }
	[ -s "$d/terr" ] && { echo "FAIL: the master or a child wrote to stderr"; return 1; }
	grep -q "$2" "$d/out" || { echo "FAIL: the master's checks failed"; return 1; }
	check_children "$d" "$d/cap" "$want"
}

bad=0
# preload: the master has a LD_PRELOAD of its own (libc, loaded anyway),
# which its children get after the agent's and it keeps.
libc=$(ldd "$TARGETS/shellout" | awk '$1 == "libc.so.6" { print $3 }')
for mode in plain preload --setenv-thread; do
	d=$ma_tmp/c$mode
	mkdir "$d"
	: >"$d/out"
	if [ "$mode" = preload ]; then pre=$libc; else pre=; fi
	# shellcheck disable=SC2046  # no argument for plain and preload
	env ${pre:+LD_PRELOAD="$pre"} "$TARGETS/shellout" --wait-signal "$d" $([ "${mode#--}" = "$mode" ] || echo "$mode") \
		>"$d/out" 2>"$d/terr" </dev/null &
	tpid=$!
	ma_wait_for "$d/out" '^ready ' 30 || { echo "FAIL: shellout did not get ready"; exit 1; }
	master=$tpid
	echo "=== shellout $mode"
	follow "$d" '^done ok' || { echo "FAIL: shellout $mode"; bad=1; }
	# without a setenv of the program's the very array is back
	[ "$mode" = --setenv-thread ] || grep -Eq '^environ before (0x[0-9a-f]+) after \1$' "$d/out" ||
		{ echo "FAIL: shellout $mode: environ is another array after the calls"; bad=1; }
done

# shellout_after_session MODE CHILDREN: shellout --MODE attached with
# --follow-fork; it says "after the session ok" once its environ is clean.
shellout_after_session() {
	d=$ma_tmp/$1
	mkdir "$d"
	: >"$d/out"
	"$TARGETS/shellout" --wait-signal "$d" "--$1" >"$d/out" 2>"$d/terr" </dev/null &
	tpid=$!
	master=$tpid
	ma_wait_for "$d/out" '^ready ' 30 || { echo "FAIL: shellout did not get ready"; return 1; }
	echo "=== shellout --$1"
	follow "$d" '^after the session ok' "$2" || { echo "FAIL: shellout --$1"; return 1; }
}

# A thread cancelled in system() (its shell killed by glibc): our entries
# stay until the session's end, then go (environ the array of before, and a
# shell the master runs then gets no LD_PRELOAD of a removed agent: the
# loader would say so on stderr).
shellout_after_session cancel 0 || bad=1

# A fork by another thread while a system() child runs: the forked process
# (followed) takes our entries out of its copy of environ at its fork (or,
# at the latest, at its session's end); after the session it has none.
shellout_after_session fork 1 || bad=1

# run --follow-fork: environ has our entries from the start; the hooks pass
# through (the master's environ the same array, the same entries).
d=$ma_tmp/run
mkdir "$d"
echo "=== memattach run --follow-fork -- shellout"
"$MEMATTACH" run --follow-fork -o "$d/cap" -- "$TARGETS/shellout" "$d" >"$d/out" 2>"$d/err" </dev/null
rc=$?
ma_show "memattach run stdout" "$d/out"
ma_show "memattach run stderr" "$d/err"
if [ "$rc" != 0 ] || ! grep -q '^done ok' "$d/out"; then
	echo "FAIL: run --follow-fork -- shellout exited $rc"
	bad=1
elif ! grep -Eq '^environ before (0x[0-9a-f]+) after \1$' "$d/out"; then
	echo "FAIL: under run --follow-fork the master's environ array was replaced"
	bad=1
else
	check_children "$d" "$d/cap" 4 || bad=1
fi

# Python's os.system (libc's system through the interpreter's GOT) and
# os.popen (subprocess: a vfork child's execv).
d=$ma_tmp/python
mkdir "$d"
: >"$d/out"
"$PYTHON" -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("ready", os.getpid(), flush=True)
signal.sigwait({signal.SIGUSR1})
child = sys.argv[1] + " --child " + sys.argv[2]
ok = True
for i in range(2):
    st = os.system(child + " 5")
    ok = ok and st == 5 << 8
    p = os.popen(child + " 6")
    ok = ok and p.read().startswith("child ")
    ok = ok and p.close() == 6 << 8
print("done", "ok" if ok else "bad", flush=True)
signal.sigwait({signal.SIGUSR1})' "$TARGETS/shellout" "$d" >"$d/out" 2>"$d/terr" </dev/null &
tpid=$!
master=$tpid
if ma_wait_for "$d/out" '^ready ' 30; then
	echo "=== python3 os.system, os.popen"
	follow "$d" '^done ok' || { echo "FAIL: python os.system / os.popen"; bad=1; }
else
	echo "FAIL: python3 did not get ready"
	bad=1
fi

[ "$bad" = 0 ] && echo "follow-shell: system() and popen() of an attached master followed, each child exact, statuses and environ intact (also with a thread's setenv); Python's os.system and os.popen too"
exit "$bad"

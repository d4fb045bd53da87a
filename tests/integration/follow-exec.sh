#!/bin/sh
# follow-exec.sh — a followed child that execs is followed into the new
# program: prefork --exec-worker's worker 2 keeps 5 blocks of 777 bytes
# (pre_exec_keep), then execs prefork --exec-child, which does worker 2's
# work from its start.  Its capture CAP.<pid> must be the exec'd program's
# exactly (99990 bytes leaked under worker2_keep; nothing of before the
# exec), the other processes' their own, for
#   1. memattach --pid MASTER --follow-fork (the attached master has no
#      LD_PRELOAD: the agent gives its followed children one), and
#   2. memattach run --follow-fork (the environment is CMD's);
# each with the exec given the process's environment (execv), then an
# environment of its own (--exec-env: execve, execle, execvpe, execveat,
# fexecve with PREFORK_ENV=own only, which the exec'd program checks it
# kept; spawn: posix_spawn with
# it, the program in a child of worker 2, which keeps no truth of its own);
# and a program Python's subprocess.run(env=...) runs under run --follow-fork
# and under --pid PYTHON --follow-fork.
. "$(dirname "$0")/prefork-common.sh"

bad=0
for how in ${FE_HOW:-execv execve execle spawn execvpe execveat fexecve}; do
	set --
	[ "$how" = execv ] || set -- --exec-env "$how"
	d=$ma_tmp/attach-$how
	start_server "$d" --exec-worker "$@" || exit 1
	capture "$d" 'tracking 1 process' --pid "$master" --follow-fork -o "$d/cap" || bad=1

	r=$ma_tmp/run-$how
	mkdir "$r"
	echo "=== memattach run --follow-fork -o $r/cap -- prefork --exec-worker $*"
	"$MEMATTACH" run --follow-fork -o "$r/cap" -- "$TARGETS/prefork" --exec-worker "$@" --truth-dir "$r" \
		>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
	rc=$?
	ma_show "stderr" "$ma_tmp/err"
	[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc"; bad=1; }
	check_prefork "$r" "$r/cap" 4 || bad=1
done

# Python's subprocess with env= (its child execve()s from _posixsubprocess):
# the program it runs is captured exactly.
p=$ma_tmp/python
mkdir "$p"
echo "=== memattach run --follow-fork -- python3: subprocess.run(prefork --exec-child, env={PREFORK_ENV: own})"
"$MEMATTACH" run --follow-fork -o "$p/cap" -- "$PYTHON" -c 'import subprocess, sys
sys.exit(subprocess.run(sys.argv[1:], env={"PREFORK_ENV": "own"}).returncode)' \
	"$TARGETS/prefork" --exec-child --truth-dir "$p" --exec-env execve >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork python3 exited $rc"; bad=1; }
check_prefork "$p" "$p/cap" 1 || bad=1

# The same under memattach --pid PY --follow-fork: the attached
# interpreter has no LD_PRELOAD, its subprocess's env= neither; the
# followed child's execve gets both from the agent.
q=$ma_tmp/python-pid
mkdir "$q"
"$PYTHON" -c 'import signal, subprocess, sys
u = {signal.SIGUSR1}
signal.pthread_sigmask(signal.SIG_BLOCK, u)
print("ready", flush=True)
signal.sigwait(u)
rc = subprocess.run(sys.argv[1:], env={"PREFORK_ENV": "own"}).returncode
print("done", rc, flush=True)
signal.sigwait(u)
sys.exit(rc)' "$TARGETS/prefork" --exec-child --truth-dir "$q" --exec-env execve >"$q/out" 2>"$q/terr" </dev/null &
py=$!
if ma_wait_for "$q/out" '^ready' 30; then
	echo "=== memattach --pid $py --follow-fork: subprocess.run(prefork --exec-child, env={PREFORK_ENV: own})"
	"$MEMATTACH" --pid "$py" --follow-fork -o "$q/cap" >"$q/mout" 2>"$q/err" </dev/null &
	mpid=$!
	ma_wait_for "$q/err" 'tracking 1 process' 30 || { echo "FAIL: memattach never said 'tracking 1 process'"; bad=1; }
	kill -USR1 "$py"
	ma_wait_for "$q/out" '^done' 120 || { echo "FAIL: the subprocess did not finish"; bad=1; }
	kill -INT "$mpid"
	wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGINT"; bad=1; }
	rc=$wrc
	kill -USR1 "$py"
	wait_gone "$py" 60
	ma_show "stderr" "$q/err"
	[ "$rc" = 0 ] || { echo "FAIL: memattach --pid --follow-fork python3 exited $rc"; bad=1; }
	[ "$wrc" = 0 ] || { echo "FAIL: python3 exited $wrc"; ma_show "python3 stderr" "$q/terr"; bad=1; }
	check_prefork "$q" "$q/cap" 1 || bad=1
else
	echo "FAIL: python3 did not get ready"
	bad=1
fi

[ "$bad" = 0 ] && echo "follow-exec: the exec'd program of a followed child captured exactly (--pid and run; execv; execve, execle, execvpe, execveat, fexecve and posix_spawn with an environment of their own; Python's subprocess with env=, run and --pid)"
exit "$bad"

#!/bin/sh
# follow-exec-master.sh — the attached master itself execs (memattach --pid
# MASTER --follow-fork): prefork --exec-master HOW keeps 5 blocks of 777
# bytes (pre_exec_keep), then execs itself as the master from its start,
# which keeps 40000 bytes under master_keep and forks 3 workers.  The
# master's capture CAP must be the exec'd program's exactly (as for run's
# CMD: the capture is of the last program; nothing of before the exec),
# each worker's CAP.<pid> its own, for the exec family with the process's
# environment (execv, execvp, execl, execlp: glibc calls execve inside
# libc, and the attached process's environment has no LD_PRELOAD) and
# with an environment of its own (execle, execve, execvpe: PREFORK_ENV=own
# only, which the exec'd program checks it kept); and an attached python3
# whose os.execv runs the same program.
. "$(dirname "$0")/prefork-common.sh"

bad=0
for how in ${FE_HOW:-execv execvp execl execlp execle execve execvpe}; do
	d=$ma_tmp/$how
	start_server "$d" --exec-master "$how" || exit 1
	capture "$d" 'tracking 1 process' --pid "$master" --follow-fork -o "$d/cap" || { echo "FAIL: $how"; bad=1; }
done

# Python's os.execv by an attached interpreter (execv through its GOT):
# the program it execs (prefork --exec-started) is the master from its start.
if [ -z "${FE_HOW:-}" ]; then
	d=$ma_tmp/python
	mkdir "$d"
	"$PYTHON" -c 'import os, signal, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
print("ready", os.getpid(), flush=True)
signal.sigwait({signal.SIGUSR1})
os.execv(sys.argv[1], sys.argv[1:])' "$TARGETS/prefork" --wait-signal --exec-started --truth-dir "$d" \
		>"$d/out" 2>"$d/terr" </dev/null &
	tpid=$!
	master=$tpid
	if ma_wait_for "$d/out" '^ready ' 30; then
		capture "$d" 'tracking 1 process' --pid "$master" --follow-fork -o "$d/cap" || { echo "FAIL: python os.execv"; bad=1; }
	else
		echo "FAIL: python3 did not get ready"
		bad=1
	fi
fi

[ "$bad" = 0 ] && echo "follow-exec-master: the program an attached master execs captured exactly, its workers too (execv, execvp, execl, execlp; execle, execve, execvpe with an environment of their own; Python's os.execv)"
exit "$bad"

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
# only, which the exec'd program checks it kept).
. "$(dirname "$0")/prefork-common.sh"

bad=0
for how in ${FE_HOW:-execv execvp execl execlp execle execve execvpe}; do
	d=$ma_tmp/$how
	start_server "$d" --exec-master "$how" || exit 1
	capture "$d" 'tracking 1 process' --pid "$master" --follow-fork -o "$d/cap" || { echo "FAIL: $how"; bad=1; }
done

[ "$bad" = 0 ] && echo "follow-exec-master: the program an attached master execs captured exactly, its workers too (execv, execvp, execl, execlp; execle, execve, execvpe with an environment of their own)"
exit "$bad"

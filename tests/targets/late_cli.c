/* late_cli.c — `late_cli PROG ARGS...` as memattach run's CMD: memattach
 * meets CMD's first connection only after CMD has exited, as a loaded
 * machine may make it (follow-run-late.sh).  Statically linked (no agent
 * of its own: the first agent to connect is PROG's, in the pid memattach
 * started), it stops its parent, memattach, and execs PROG; a child it
 * forked first resumes memattach once PROG has exited (a pidfd of it,
 * taken before the fork, turns readable: a zombie memattach has not
 * reaped, as CMD is when memattach wakes). */
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	pid_t cli = getppid();
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);   /* close-on-exec */
	if (argc < 2 || pidfd < 0)
		return 2;
	pid_t w = fork();
	if (w < 0)
		return 2;
	if (w == 0) {
		struct pollfd pf = { pidfd, POLLIN, 0 };
		while (poll(&pf, 1, -1) < 0)
			;
		kill(cli, SIGCONT);
		_exit(0);
	}
	kill(cli, SIGSTOP);
	execv(argv[1], argv + 1);
	return 127;
}

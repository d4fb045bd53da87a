/* late_cli.c — `late_cli PROG ARGS...` as memattach run's CMD: memattach
 * takes no connection of PROG's tree before the whole tree has exited.
 * Statically linked (no agent of its own: the first agent to connect is
 * PROG's, in the pid memattach started), it stops its parent, memattach,
 * and execs PROG; a child it forked first resumes memattach once a pipe
 * whose write end PROG and all its children inherit reads its end (every
 * one of them has exited).  So memattach meets CMD's first connection
 * only after CMD's end, as a loaded machine may make it (follow-run-late.sh). */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int p[2];
	char b;
	pid_t cli = getppid();
	if (argc < 2 || pipe(p) < 0)
		return 2;
	pid_t w = fork();
	if (w < 0)
		return 2;
	if (w == 0) {
		close(p[1]);
		ssize_t n;
		while ((n = read(p[0], &b, 1)) > 0 || (n < 0 && errno == EINTR))
			;
		kill(cli, SIGCONT);
		_exit(0);
	}
	close(p[0]);
	kill(cli, SIGSTOP);
	execv(argv[1], argv + 1);
	return 127;
}

/* cli_watch.c — is the CLI at the other end of the socket at work?  The
 * final flush of an exiting process waits while the CLI makes progress.
 * Reading our own bytes is progress, but a CLI that serves dozens of
 * streams on a loaded machine gets a few ms of CPU a second: it read each
 * stream once every 2-2.3 s, runnable all that time (its main thread
 * waited 2240 of 2290 ms on the run queue, 45 processes at load 25), and
 * agents gave up after 2 s of their own bytes unread.  So a CLI whose
 * main thread is runnable (R) or in the kernel for its disk (D) counts as
 * at work; one stopped (T, t) or sleeping elsewhere does not.  Told from
 * /proc/<pid>/stat of the socket's peer (SO_PEERCRED), when that pid is
 * visible here (0 from another pid namespace: then only reads count). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "agent_internal.h"

int ma_cli_watch_open(int sock)
{
	struct ucred cr;
	socklen_t l = sizeof(cr);
	char path[64];
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cr, &l) < 0 || cr.pid <= 0 ||
	    cr.pid == getpid())
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)cr.pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int ma_cli_at_work(int fd)
{
	char buf[512];
	if (fd < 0)
		return 0;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the state follows the command's name, which may hold ") " */
	const char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	return p[2] == 'R' || p[2] == 'D';
}

/* live_connect.c — `memattach live --connect PATH`: the view of a Python
 * Tracker(live_mode=True).  Its receiver (cli/cmd/rx_viewer.c) listens on
 * PATH and sends the tracker's records, from its start, framed as an
 * agent sends them; here they feed the same view as `live --pid`.  The
 * tracked process is the receiver's parent. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli/capture/session_peer.h"
#include "cli/cmd/attach.h"
#include "cli/cmd/live.h"
#include "cli/util/exit_codes.h"
#include "procfs/procfs.h"

/* A connected socket, or -1 with a message. */
static int connect_to(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--connect %s: the path is too long", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, errlen, "--connect %s: %s; no Tracker(live_mode=True) waits there (it prints the path it waits on)",
			 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The tracked process: the parent of the receiver at the other end. */
static pid_t tracked_pid(int fd)
{
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct ma_proc_stat st;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || ma_proc_stat(cr.pid, &st) < 0)
		return 0;
	return st.ppid;
}

int ma_live_connect(struct attach *a, volatile sig_atomic_t *stop_signal)
{
	static struct ma_session s;
	struct ma_capture c;
	char err[1024];
	int fd = connect_to(a->connect, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		return MA_EXIT_NO_PROCESS;
	}
	pid_t pid = tracked_pid(fd);
	ma_session_init_peer(&s, "");
	if (a->out && ma_session_open_output(&s, a->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		close(fd);
		return MA_EXIT_OUTPUT;
	}
	if (ma_session_adopt(&s, fd, pid, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_abandon(&s);
		return MA_EXIT_OUTPUT;
	}
	if (ma_proc_comm(pid, a->target.name, sizeof(a->target.name)) < 0)
		snprintf(a->target.name, sizeof(a->target.name), "?");
	ma_capture_init(&c, &s, pid, stop_signal);
	c.connected = c.ever_connected = 1;
	struct ma_live_opts o = { pid, a->target.name, a->interval_ns ? a->interval_ns : 1000000000ull,
				  a->out, a->quiet };
	return ma_live_run(&c, &o);
}

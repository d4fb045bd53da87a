/* session_peer.c — see session_peer.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "cli/capture/session_peer.h"

/* An abstract socket (in_memory) can be reached by any process of its
 * network namespace: only the target's user and root are taken, as a
 * socket file given to that user would allow. */
static int peer_allowed(const struct ma_session *l, const struct ucred *cr)
{
	if (!l->in_memory || cr->uid == 0 || cr->uid == l->peer_uid)
		return 1;
	fprintf(stderr, "memattach: refused a connection from pid %d (uid %u: not the target's user)\n", (int)cr->pid,
		(unsigned)cr->uid);
	return 0;
}

int ma_session_accept_peer(struct ma_session *l, int timeout_ms, int *fd, pid_t *pid)
{
	struct pollfd pf = {l->listen_fd, POLLIN, 0};
	if (l->listen_fd < 0 || poll(&pf, 1, timeout_ms) <= 0)
		return 0;
	int c = accept4(l->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return 0;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 || cl != sizeof(cr) || !peer_allowed(l, &cr)) {
		close(c);
		return 0;
	}
	*fd = c;
	*pid = cr.pid;
	return 1;
}

void ma_session_init_peer(struct ma_session *s, const char *root_prefix)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = s->conn_fd = -1;
	s->sd.fd = s->sd.parent_fd = -1;
	snprintf(s->root_prefix, sizeof(s->root_prefix), "%s", root_prefix);
}

int ma_session_adopt(struct ma_session *s, int fd, pid_t pid, char *err, size_t errlen)
{
	if (s->writer && ma_capture_writer_publish(s->writer) < 0) {
		snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
		close(fd);
		return -1;
	}
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	s->conn_fd = fd;
	s->peer_pid = pid;
	s->eof = 0;
	return 0;
}

/* session_abstract.c — the listening socket for a target whose root has
 * no place for a file (a read-only root with no writable mount): an
 * abstract socket made in the target's network namespace, which the
 * agent reaches by name.  Abstract names have no permissions, so the
 * name is random and ma_session_accept takes only the target's pid
 * (SO_PEERCRED); nothing is left on any file system, even after a
 * SIGKILL. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/capture/session.h"

/* A random abstract name, bound and listening; fd or -1 (errno). */
static int bind_random(char *name, size_t len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	for (int tries = 0; fd >= 0 && tries < 20; tries++) {
		unsigned char r[8];
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			break;
		snprintf(name, len, "@memattach-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
			 r[5], r[6], r[7]);
		size_t n = strlen(name);
		memcpy(sa.sun_path + 1, name + 1, n - 1);
		if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) == 0)
			return listen(fd, 64) == 0 ? fd : (close(fd), -1);
		if (errno != EADDRINUSE)
			break;
	}
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

static int same_ns(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* A user that is not root may enter the network namespace of a user
 * namespace it owns (rootless containers) only from inside that user
 * namespace, which a process cannot leave: a child enters both, makes
 * the socket, and sends it back (SCM_RIGHTS).  fd or -1 (errno). */
static int bind_in_user_ns(pid_t pid, int netfd, char *name, size_t len)
{
	char p[64], cbuf[CMSG_SPACE(sizeof(int))];
	int sv[2], fd = -1;
	snprintf(p, sizeof p, "/proc/%d/ns/user", (int)pid);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid_t child = fork();
	if (child == 0) {
		int ufd = open(p, O_RDONLY | O_CLOEXEC), e = 0, l = -1;
		if (ufd < 0 || setns(ufd, CLONE_NEWUSER) < 0 || setns(netfd, CLONE_NEWNET) < 0 ||
		    (l = bind_random(name, len)) < 0)
			e = errno ? errno : EPERM;
		struct iovec io = { e ? (void *)&e : (void *)name, e ? sizeof e : strlen(name) + 1 };
		struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1 };
		if (!e) {
			m.msg_control = cbuf;
			m.msg_controllen = sizeof cbuf;
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &l, sizeof l);
		}
		_exit(sendmsg(sv[1], &m, 0) < 0);
	}
	close(sv[1]);
	char buf[128] = "";
	struct iovec io = { buf, sizeof buf - 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	ssize_t n = child > 0 ? recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC) : -1;
	struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
	if (c && c->cmsg_type == SCM_RIGHTS) {
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
		snprintf(name, len, "%s", buf);
	} else {
		int e = EPERM;
		if (n == (ssize_t)sizeof e)
			memcpy(&e, buf, sizeof e);
		errno = e;
	}
	close(sv[0]);
	while (child > 0 && waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	return fd;
}

/* The socket is made inside pid's network namespace (setns on this
 * thread only, and back at once): it stays in that namespace. */
int ma_session_listen_abstract(struct ma_session *s, pid_t pid, char *err, size_t errlen)
{
	char p[64];
	memset(s, 0, sizeof(*s));
	s->listen_fd = s->conn_fd = -1;
	s->sd.fd = s->sd.parent_fd = -1;
	snprintf(p, sizeof p, "/proc/%d/ns/net", (int)pid);
	int theirs = open(p, O_RDONLY | O_CLOEXEC), mine = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	int moved = 0, e = 0;
	if (theirs < 0 || mine < 0)
		e = errno;
	else if (!same_ns(theirs, mine) && !(moved = setns(theirs, CLONE_NEWNET) == 0))
		e = errno;
	if (e == EPERM && (s->listen_fd = bind_in_user_ns(pid, theirs, s->sock_path, sizeof s->sock_path)) >= 0)
		e = 0;
	else if (!e && (s->listen_fd = bind_random(s->sock_path, sizeof s->sock_path)) < 0)
		e = errno;
	if (moved && setns(mine, CLONE_NEWNET) < 0) {
		/* never go on in the target's network */
		fprintf(stderr, "memattach: cannot return to its own network namespace: %s\n", strerror(errno));
		_exit(1);
	}
	if (theirs >= 0)
		close(theirs);
	if (mine >= 0)
		close(mine);
	if (e) {
		snprintf(err, errlen, "cannot listen in the network namespace of process %d: %s%s", (int)pid,
			 strerror(e), e == EPERM ? " (entering it needs CAP_SYS_ADMIN there, or to own its user namespace: "
						   "run memattach as root)" : "");
		return -1;
	}
	s->in_memory = 1;
	return 0;
}

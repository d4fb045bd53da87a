/* rx_viewer.c — see rx_viewer.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli/cmd/rx_trackers.h"
#include "cli/cmd/rx_viewer.h"
#include "record_io.h"

int rx_viewer_listen(struct rx_tracker *t, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "the live socket path %s is too long (at most %zu bytes)", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old = umask(077);
	int b = l < 0 ? -1 : bind(l, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (b < 0 || listen(l, 1) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		if (l >= 0)
			close(l);
		return -1;
	}
	t->viewer_listen = l;
	snprintf(t->viewer_path, sizeof(t->viewer_path), "%s", path);
	return 0;
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, p + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

static int flush_backlog(struct rx_tracker *t);

int rx_viewer_accept(struct rx_tracker *t)
{
	if (t->viewer_listen < 0)
		return 0;
	int fd = accept4(t->viewer_listen, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return 0;
	close(t->viewer_listen);
	unlink(t->viewer_path);
	t->viewer_listen = -1;
	t->viewer_fd = fd;
	if (flush_backlog(t) < 0) {
		t->vbuf_len = 0;
		rx_viewer_close(t);
	}
	return 1;
}

static void keep(struct rx_tracker *t, const uint8_t *p, size_t n)
{
	if (t->vbuf_cap - t->vbuf_len < n) {
		size_t cap = t->vbuf_cap ? t->vbuf_cap : 1 << 16;
		while (cap - t->vbuf_len < n)
			cap *= 2;
		uint8_t *b = realloc(t->vbuf, cap);
		if (!b)
			return;
		t->vbuf = b;
		t->vbuf_cap = cap;
	}
	memcpy(t->vbuf + t->vbuf_len, p, n);
	t->vbuf_len += n;
}

#define VIEWER_BACKLOG_MAX (256u << 20)

/* What the viewer has not taken yet goes out without waiting: a viewer
 * that is slow (a stopped terminal) must not hold the agent's stream up,
 * which would make the tracked program's threads wait and, past the
 * stall limit, drop events from every capture.  Past 256 MiB behind, it
 * is dropped (tracking goes on). */
static int flush_backlog(struct rx_tracker *t)
{
	size_t off = 0;
	while (off < t->vbuf_len) {
		ssize_t w = send(t->viewer_fd, t->vbuf + off, t->vbuf_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	if (off) {   /* an empty backlog may have no buffer yet (NULL) */
		memmove(t->vbuf, t->vbuf + off, t->vbuf_len - off);
		t->vbuf_len -= off;
	}
	return 0;
}

void rx_viewer_send(struct rx_tracker *t, const Memattach__Record *r)
{
	if (t->viewer_fd < 0 && t->viewer_listen < 0)
		return;
	size_t n = memattach__record__get_packed_size(r);
	uint8_t stackbuf[4096];
	uint8_t *buf = n + 10 <= sizeof(stackbuf) ? stackbuf : malloc(n + 10);
	if (!buf)
		return;
	size_t len = ma_record_pack_framed(r, buf);
	keep(t, buf, len);
	if (buf != stackbuf)
		free(buf);
	if (t->viewer_fd < 0)
		return;   /* kept for the viewer to come */
	int gone = flush_backlog(t) < 0;   /* the viewer quit: tracking goes on */
	if (!gone && t->vbuf_len > VIEWER_BACKLOG_MAX) {
		fprintf(stderr, "memattach: the live viewer of %s fell %u MiB behind; it is disconnected (tracking goes on)\n",
			t->path, VIEWER_BACKLOG_MAX >> 20);
		gone = 1;
	}
	if (gone) {
		t->vbuf_len = 0;
		rx_viewer_close(t);
	}
}

void rx_viewer_close(struct rx_tracker *t)
{
	if (t->viewer_fd >= 0 && t->vbuf_len) {
		struct timeval tv = { 2, 0 };   /* its last records (the end): 2 s at most */
		setsockopt(t->viewer_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		send_all(t->viewer_fd, t->vbuf, t->vbuf_len);
	}
	if (t->viewer_fd >= 0)
		close(t->viewer_fd);
	if (t->viewer_listen >= 0) {
		close(t->viewer_listen);
		unlink(t->viewer_path);
	}
	t->viewer_fd = t->viewer_listen = -1;
	free(t->vbuf);
	t->vbuf = NULL;
	t->vbuf_len = t->vbuf_cap = 0;
}

void rx_viewer_check(struct rx_tracker *t)
{
	uint8_t b[64];
	if (t->viewer_fd < 0)
		return;
	ssize_t n = recv(t->viewer_fd, b, sizeof(b), MSG_DONTWAIT);
	if (n > 0) {
		/* its Control.STOP (q): the end it waits for, as an agent would
		 * send it, so that it ends as after a detach */
		Memattach__Record r = MEMATTACH__RECORD__INIT;
		Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
		at.reason = MEMATTACH__STOP_REASON__STOP_REQUESTED;
		r.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
		r.agent_trailer = &at;
		rx_viewer_send(t, &r);
	}
	if (n >= 0 || (errno != EAGAIN && errno != EINTR))
		rx_viewer_close(t);
}

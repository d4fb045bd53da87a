/* rx_children.c — see rx_children.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/capture/session_peer.h"
#include "cli/cmd/rx_children.h"

static struct rx_child *add(struct rx_children *k, pid_t pid, char *err, size_t errlen)
{
	char out[PATH_MAX + 16];
	int gen = 1;
	for (size_t i = 0; i < k->n; i++)
		gen += k->c[i]->pid == pid;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 8;
		struct rx_child **c = realloc(k->c, cap * sizeof(*c));
		if (!c) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		k->c = c;
		k->cap = cap;
	}
	struct rx_child *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ma_session_init_peer(&c->s, "");
	c->pid = pid;
	/* a pid used again by a later child: BASE.<pid>.2, as run names it */
	if (gen > 1)
		snprintf(out, sizeof(out), "%s.%d.%d", k->base, (int)pid, gen);
	else
		snprintf(out, sizeof(out), "%s.%d", k->base, (int)pid);
	if (ma_session_open_output(&c->s, out, err, errlen) < 0) {
		free(c);
		return NULL;
	}
	k->c[k->n++] = c;
	return c;
}

void rx_children_accept(struct rx_children *k, struct ma_session *l)
{
	int fd;
	pid_t pid;
	char err[512];
	while (ma_session_accept_peer(l, 0, &fd, &pid) > 0) {
		struct rx_child *c = add(k, pid, err, sizeof(err));
		if (!c || ma_session_adopt(&c->s, fd, pid, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: child process %d: %s; it is not tracked\n", (int)pid, err);
			if (!c)
				close(fd);
		}
	}
}

size_t rx_children_poll(const struct rx_children *k, struct pollfd *pf, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < k->n && n < max; i++)
		if (k->c[i]->s.conn_fd >= 0)
			pf[n++] = (struct pollfd){ k->c[i]->s.conn_fd, POLLIN, 0 };
	return n;
}

static void finish(struct rx_child *c, const char *note)
{
	char err[512];
	if (!c->s.got_trailer && !note)
		note = "the child's stream ended early (it ended without stopping its tracker, e.g. killed)";
	if (ma_session_finish(&c->s, c->s.got_trailer ? NULL : note, err, sizeof(err)) < 0)
		fprintf(stderr, "memattach: child process %d: %s\n", (int)c->pid, err);
}

void rx_children_pump(struct rx_children *k, const struct pollfd *pf, size_t n)
{
	char err[512];
	for (size_t j = 0; j < n; j++) {
		if (!pf[j].revents)
			continue;
		for (size_t i = 0; i < k->n; i++) {
			struct rx_child *c = k->c[i];
			if (c->s.conn_fd != pf[j].fd)
				continue;
			int r = ma_session_pump(&c->s, 0, err, sizeof(err));
			if (r < 0)
				fprintf(stderr, "memattach: child process %d: %s; stopping its capture\n",
					(int)c->pid, err);
			if (r <= 0)
				finish(c, r < 0 ? "capture stopped: output error" : NULL);
			break;
		}
	}
}

/* Gone: exited (a zombie) or reaped. */
static int gone(pid_t pid)
{
	char path[64], buf[512];
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 1;
	char *p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && (p[2] == 'Z' || p[2] == 'X');
}

void rx_children_drain_gone(struct rx_children *k)
{
	char err[512];
	for (size_t i = 0; i < k->n; i++) {
		struct rx_child *c = k->c[i];
		if (c->s.conn_fd < 0 || !gone(c->pid))
			continue;
		int r;
		while ((r = ma_session_pump(&c->s, 1000, err, sizeof(err))) > 0)
			;
		if (r < 0)
			fprintf(stderr, "memattach: child process %d: %s; stopping its capture\n", (int)c->pid, err);
		finish(c, r < 0 ? "capture stopped: output error" : NULL);
	}
}

size_t rx_children_open(const struct rx_children *k)
{
	size_t n = 0;
	for (size_t i = 0; i < k->n; i++)
		n += k->c[i]->s.conn_fd >= 0;
	return n;
}

void rx_children_free(struct rx_children *k)
{
	for (size_t i = 0; i < k->n; i++) {
		if (k->c[i]->s.conn_fd >= 0)
			finish(k->c[i], "the receiver ended first");
		free(k->c[i]);
	}
	free(k->c);
	k->c = NULL;
	k->n = k->cap = 0;
}

/* procmaps.c — reading /proc/PID/maps: modules, ranges, "is it loaded". */
#include "config.h"
#include "injector/inj_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

struct range_ctx {
	const char *prefix;
	unsigned long lo, hi;
	char path[PATH_MAX];
};

static int range_fn(const struct ma_map *m, void *vctx)
{
	struct range_ctx *c = vctx;

	if (m->path[0] != '/')
		return 0;
	if (c->path[0] == '\0') {
		if (strncmp(base_name(m->path), c->prefix, strlen(c->prefix)) != 0)
			return 0;
		snprintf(c->path, sizeof(c->path), "%s", m->path);
		c->lo = m->start;
	}
	if (strcmp(m->path, c->path) == 0 && m->end > c->hi)
		c->hi = m->end;
	return 0;
}

int ma_maps_module_range(pid_t pid, const char *prefix, unsigned long *lo,
			 unsigned long *hi, char *path, size_t pathsz)
{
	struct range_ctx *c = calloc(1, sizeof(*c));
	int rc = -1;

	if (!c)
		return -1;
	c->prefix = prefix;
	if (ma_maps_foreach(pid, range_fn, c) == 0 && c->path[0]) {
		*lo = c->lo;
		*hi = c->hi;
		if (path)
			snprintf(path, pathsz, "%s", c->path);
		rc = 0;
	}
	free(c);
	return rc;
}

struct loaded_ctx {
	const char *path;
	dev_t dev;
	ino_t ino;
	int have_stat;
	pid_t pid;
};

static int loaded_fn(const struct ma_map *m, void *vctx)
{
	struct loaded_ctx *c = vctx;

	char in_target[PATH_MAX];
	if (m->path[0] != '/')
		return 0;
	ma_proc_path_in_target(c->pid, m->path, in_target, sizeof(in_target));
	if (strcmp(in_target, c->path) == 0)
		return 1;
	if (m->deleted)
		return 0;
	return c->have_stat && m->inode == c->ino &&
	       makedev(m->dev_major, m->dev_minor) == c->dev;
}

int ma_inj_library_loaded(pid_t pid, const char *so_path)
{
	char path[PATH_MAX + 64];
	struct loaded_ctx c = { so_path, 0, 0, 0, pid };
	struct stat st;

	/* The target sees so_path in its own mount namespace: compare the
	 * file it would open (dev/inode), and the name as a fallback. */
	ma_proc_root(pid, so_path, path, sizeof(path));
	if (stat(path, &st) == 0) {
		c.dev = st.st_dev;
		c.ino = st.st_ino;
		c.have_stat = 1;
	}
	return ma_maps_foreach(pid, loaded_fn, &c);
}

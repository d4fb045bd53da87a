/* procfs.c — one parser of /proc/PID for the injector and the CLI. */
#include "config.h"
#include "procfs/procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ma_proc_read_file(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got + 1 < size && (n = read(fd, buf + got, size - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	return 0;
}

static int parse_stat(const char *path, struct ma_proc_stat *st)
{
	char buf[1024], *open_paren, *close_paren;

	if (ma_proc_read_file(path, buf, sizeof(buf)))
		return -1;
	/* comm may hold spaces and parentheses ("a) b"): it ends at the last ')'. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	memset(st, 0, sizeof(*st));
	if (!open_paren || !close_paren || close_paren < open_paren ||
	    sscanf(close_paren + 1, " %c %d %*d %*d %*d %*d %lu", &st->state, &st->ppid,
		   &st->flags) != 3) {
		errno = EINVAL;
		return -1;
	}
	snprintf(st->comm, sizeof(st->comm), "%.*s", (int)(close_paren - open_paren - 1),
		 open_paren + 1);
	return 0;
}

int ma_proc_stat(pid_t pid, struct ma_proc_stat *st)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return parse_stat(path, st);
}

int ma_proc_task_stat(pid_t pid, pid_t tid, struct ma_proc_stat *st)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	return parse_stat(path, st);
}

static int read_status(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char path[96];

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return ma_proc_read_file(path, buf, size);
}

/* The value of "name:" in a status text, or NULL. */
static const char *find_field(const char *buf, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, name, len) == 0 && p[len] == ':')
			return p + len + 1;
	return NULL;
}

static int numbers(const char *p, unsigned long long *vals, int n, int base)
{
	char *end;

	for (int i = 0; i < n; i++) {
		vals[i] = strtoull(p, &end, base);
		if (end == p) {
			errno = EINVAL;
			return -1;
		}
		p = end;
	}
	return 0;
}

int ma_proc_status_field(pid_t pid, pid_t tid, const char *name,
			 unsigned long long *vals, int n, int base)
{
	char buf[4096];
	const char *p;

	if (read_status(pid, tid, buf, sizeof(buf)))
		return -1;
	if (!(p = find_field(buf, name))) {
		errno = ENOENT;
		return -1;
	}
	return numbers(p, vals, n, base);
}

int ma_proc_status(pid_t pid, struct ma_proc_status *st)
{
	char buf[4096];
	unsigned long long v[4];
	const char *p;

	memset(st, 0, sizeof(*st));
	if (read_status(pid, 0, buf, sizeof(buf)))
		return -1;
	if ((p = find_field(buf, "Name")) != NULL) {
		p += strspn(p, "\t ");
		snprintf(st->name, sizeof(st->name), "%.*s", (int)strcspn(p, "\n"), p);
	}
	if (!(p = find_field(buf, "Tgid")) || numbers(p, v, 1, 10))
		return -1;
	st->tgid = (pid_t)v[0];
	if (!(p = find_field(buf, "Uid")) || numbers(p, v, 4, 10))
		return -1;
	for (int i = 0; i < 4; i++)
		st->uid[i] = (uid_t)v[i];
	if (!(p = find_field(buf, "Gid")) || numbers(p, v, 4, 10))
		return -1;
	for (int i = 0; i < 4; i++)
		st->gid[i] = (gid_t)v[i];
	return 0;
}

int ma_proc_dumpable(pid_t pid)
{
	struct ma_proc_status ps;
	struct stat sb;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (stat(path, &sb) < 0 || ma_proc_status(pid, &ps) < 0)
		return -1;
	/* proc(5): a non-dumpable process's files in /proc/PID belong to
	 * root whatever its effective uid (the directory itself does not). */
	return !(sb.st_uid == 0 && ps.uid[1] != 0);
}

int ma_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (ma_proc_read_file(path, buf, len))
		return -1;
	buf[strcspn(buf, "\n")] = '\0';   /* the kernel's line end (a '\n' in the name goes too) */
	return 0;
}

void ma_proc_root(pid_t pid, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/%d/root%s", (int)pid, path);
}

static int parse_map_line(char *line, struct ma_map *m)
{
	int pos = 0;
	size_t len;
	char *p;

	memset(m, 0, sizeof(*m));
	if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &m->start, &m->end, m->perms,
		   &m->offset, &m->dev_major, &m->dev_minor, &m->inode, &pos) < 7)
		return -1;
	p = line + pos;
	len = strcspn(p, "\n");
	p[len] = '\0';
	if (len > 10 && strcmp(p + len - 10, " (deleted)") == 0) {
		p[len - 10] = '\0';
		m->deleted = 1;
	}
	snprintf(m->path, sizeof(m->path), "%s", p);
	return 0;
}

int ma_maps_foreach(pid_t pid, int (*fn)(const struct ma_map *m, void *ctx), void *ctx)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	struct ma_map *m;
	int rc = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	m = malloc(sizeof(*m));
	if (!m) {
		fclose(f);
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0)
		if (parse_map_line(line, m) == 0)
			rc = fn(m, ctx);
	free(line);
	free(m);
	fclose(f);
	return rc;
}

/* outfile.c — see outfile.h.  The threat: another user plants a symbolic
 * link (or a FIFO) at a predictable output name in a shared directory, so
 * that root's memattach writes through it into a file of the planter's
 * choosing.  O_EXCL|O_NOFOLLOW on a new name and renameat (which replaces
 * a link, never follows it) leave nothing to redirect. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/util/outfile.h"

static void why(char *err, size_t errlen, int e)
{
	if (e == ELOOP)
		snprintf(err, errlen, "it is a symbolic link, and memattach never writes through one; "
			 "name the file itself");
	else if (e == EISDIR)
		snprintf(err, errlen, "it is a directory; name a file");
	else if (e == EPERM)
		snprintf(err, errlen, "it is a FIFO or socket of another user; name another file");
	else
		snprintf(err, errlen, "%s", strerror(e));
}

/* Opens the directory of path (following links there: the user named it)
 * and sets *name to the last component.  fd or -errno. */
static int open_dir(const char *path, char **name)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
		return -EISDIR;
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	*name = strdup(base);
	if (!dir || !*name) {
		free(dir);
		free(*name);
		*name = NULL;
		return -ENOMEM;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int e = errno;
	free(dir);
	if (fd < 0) {
		free(*name);
		*name = NULL;
		return -e;
	}
	return fd;
}

/* What is at the name now: 0 nothing or a regular file (replace it),
 * 1 a device or own FIFO (write into it), -errno refused. */
static int classify(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISREG(st.st_mode))
		return 0;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISCHR(st.st_mode) || (S_ISFIFO(st.st_mode) && st.st_uid == geteuid()))
		return 1;
	return -EPERM;
}

int ma_outfile_check(const char *path, char *err, size_t errlen)
{
	char *name = NULL;
	int dirfd = open_dir(path, &name);
	if (dirfd < 0) {
		why(err, errlen, -dirfd);
		return dirfd;
	}
	int k = classify(dirfd, name);
	if (k == 0 && faccessat(dirfd, ".", W_OK, AT_EACCESS) < 0)
		k = -errno;
	free(name);
	close(dirfd);
	if (k < 0)
		why(err, errlen, -k);
	return k < 0 ? k : 0;
}

/* A new file beside name: "<name>.XXXXXX.part", random, created
 * exclusively (a planted name is skipped, never opened). */
static int create_beside(ma_outfile *o)
{
	size_t n = strlen(o->name);
	o->tmp = malloc(n + 16);
	if (!o->tmp)
		return -ENOMEM;
	/* Keep the temporary name within NAME_MAX. */
	int keep = n > 230 ? 230 : (int)n;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t r;
		if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
			r = (uint32_t)getpid() * 2654435761u ^ (uint32_t)clock() ^ (uint32_t)tries << 20;
		snprintf(o->tmp, n + 16, "%.*s.%06x.part", keep, o->name, r & 0xffffff);
		o->fd = openat(o->dirfd, o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (o->fd >= 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int ma_outfile_open(ma_outfile *o, const char *path, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	o->dirfd = open_dir(path, &o->name);
	int k = o->dirfd < 0 ? o->dirfd : classify(o->dirfd, o->name);
	if (k == 1) {
		o->fd = openat(o->dirfd, o->name, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
		k = o->fd < 0 ? -errno : 0;
	} else if (k == 0) {
		k = create_beside(o);
	}
	if (k < 0) {
		why(err, errlen, -k);
		free(o->tmp);
		o->tmp = NULL;
		ma_outfile_abandon(o);
	}
	return k;
}

int ma_outfile_publish(ma_outfile *o)
{
	if (!o->tmp)
		return 0;
	if (fsync(o->fd) < 0 && errno != EINVAL)
		return -errno;
	if (renameat(o->dirfd, o->tmp, o->dirfd, o->name) < 0)
		return -errno;
	free(o->tmp);
	o->tmp = NULL;
	return 0;
}

static void release(ma_outfile *o)
{
	if (o->fd >= 0)
		close(o->fd);
	if (o->dirfd >= 0)
		close(o->dirfd);
	free(o->tmp);
	free(o->name);
	o->fd = o->dirfd = -1;
	o->tmp = o->name = NULL;
}

int ma_outfile_commit(ma_outfile *o)
{
	int rc = ma_outfile_publish(o);
	if (rc < 0) {
		ma_outfile_abandon(o);
		return rc;
	}
	if (o->fd >= 0 && close(o->fd) < 0)
		rc = -errno;
	o->fd = -1;
	release(o);
	return rc;
}

void ma_outfile_abandon(ma_outfile *o)
{
	if (o->tmp && o->dirfd >= 0)
		unlinkat(o->dirfd, o->tmp, 0);
	release(o);
}

const char *ma_outfile_data_path(const ma_outfile *o, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/self/fd/%d", o->fd);
	return buf;
}

/* session_dir.c — the session directory, safe against the target's user
 * and other local users: it stays memattach's own (0711: others may only
 * pass through to the socket they are given), it is made in a $TMPDIR
 * where nobody else can rename our entries, and every operation after
 * its creation goes through descriptors held open (*at() calls, no
 * symlink followed), so no path another user controls is ever resolved
 * again by root.  A directory whose memattach was killed (its lock free), or whose
 * target is gone (an agent copy), is swept by the next memattach; in a
 * container's root, the same by its lock (stale_in_root). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "cli/capture/session_dir.h"

/* $TMPDIR must not let anyone else replace our entries: owned by us or
 * root, and sticky if others may write to it. */
static int open_parent(const char *tmp, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot use %s for the session directory: %s (set TMPDIR to a writable directory)",
			 tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((st.st_uid != geteuid() && st.st_uid != 0) ||
	    ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))) {
		snprintf(err, errlen, "%s may be changed by other users (not sticky, or not owned by you or root): "
			 "set TMPDIR to a directory only you can write, or to /tmp", tmp);
		close(fd);
		return -1;
	}
	return fd;
}

static int same_dir(int parent_fd, const char *name, int fd, uid_t uid)
{
	struct stat a, b;
	return fstatat(parent_fd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && fstat(fd, &b) == 0 &&
	       S_ISDIR(a.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_uid == uid;
}

/* Empties and removes one of our directories, by descriptor: only we
 * can add to it (the socket, the agent and its libraries). */
static void remove_dir(int parent_fd, const char *name, int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	while (dir && (e = readdir(dir)))
		if (e->d_type != DT_DIR)
			unlinkat(fd, e->d_name, 0);
	if (dir)
		closedir(dir);
	else if (dfd >= 0)
		close(dfd);
	if (same_dir(parent_fd, name, fd, geteuid()))
		unlinkat(parent_fd, name, AT_REMOVEDIR);
}

/* The start time of pid (clock ticks since boot), 0 when it is gone. */
static unsigned long long start_time(int pid)
{
	char path[64], buf[1024];
	unsigned long long st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads itreal start */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &st) != 1)
		return 0;
	return st;
}

/* The inode of our pid namespace: pids and start times read from our
 * /proc mean something only for directories made in it. */
static unsigned long long pidns_ino(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* A session directory's memattach holds a lock on it for its life and
 * makes it 0711 only once locked (create): 0711 and a free lock is a
 * killed memattach's, whatever pid namespace either one is in. */
static int is_unlocked(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0711 && flock(fd, LOCK_EX | LOCK_NB) == 0;
}

/* The mark of the pid namespace a session directory was made in: there
 * its owner's pid means something (in another one, sharing this /tmp,
 * every pid of ours looks gone). */
static void mark_name(char *buf, size_t len)
{
	snprintf(buf, len, "pidns.%llu", pidns_ino());
}

/* Ours and stale, judged on the open directory fd: memattach-<pid>-XXXXXX
 * whose lock is free, or whose memattach is gone from our pid namespace
 * (a child that got the lock through fork may outlive it briefly) or
 * died before it took the lock (a microsecond window: there the pid
 * alone decides);
 * memattach-t<pid>.<start>.<ns>-XXXXXX whose target is gone, judged
 * only in the pid namespace that named it. */
static int stale(const char *name, int fd)
{
	int pid, end = 0;
	unsigned long long start, ns;
	char mark[64];
	struct stat st;
	if (sscanf(name, "memattach-t%d.%llu.%llu-%*6[A-Za-z0-9]%n", &pid, &start, &ns, &end) == 3 && end &&
	    !name[end])
		return pid > 0 && ns == pidns_ino() && start_time(pid) != start;
	end = 0;
	if (sscanf(name, "memattach-%d-%*6[A-Za-z0-9]%n", &pid, &end) != 1 || !end || name[end] ||
	    pid <= 0 || pid == getpid())
		return 0;
	int gone = kill(pid, 0) < 0 && errno == ESRCH;
	/* not 0711 yet: its memattach died (or is) between mkdir and lock */
	if (fstat(fd, &st) < 0 || (st.st_mode & 07777) != 0711)
		return gone;
	mark_name(mark, sizeof mark);
	if (gone && fstatat(fd, mark, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
		return 1;
	return is_unlocked(fd);
}

/* memattach-c<pid>.<start>-XXXXXX in a target's root: by its lock alone,
 * whatever pid namespace its owner was in. */
static int stale_in_root(const char *name, int fd)
{
	int pid, end = 0;
	unsigned long long start;
	return sscanf(name, "memattach-c%d.%llu-%*6[A-Za-z0-9]%n", &pid, &start, &end) == 2 && end &&
	       !name[end] && is_unlocked(fd);
}

/* Removes the directories of parent_fd that is_stale names. */
static void sweep_with(int parent_fd, int (*is_stale)(const char *, int))
{
	int dfd = openat(parent_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((e = readdir(dir))) {
		if (strncmp(e->d_name, "memattach-", 10))
			continue;
		int fd = openat(parent_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (same_dir(parent_fd, e->d_name, fd, geteuid()) && is_stale(e->d_name, fd))
			remove_dir(parent_fd, e->d_name, fd);
		close(fd);
	}
	closedir(dir);
}

static int make_dir(struct ma_session_dir *d, const char *label)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		char sfx[7];
		if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
			return -1;
		for (int i = 0; i < 6; i++)
			sfx[i] = abc[r[i] % (sizeof abc - 1)];
		sfx[6] = 0;
		snprintf(d->name, sizeof d->name, "memattach-%s-%s", label, sfx);
		if (mkdirat(d->parent_fd, d->name, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

static int create(struct ma_session_dir *d, const char *label, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	d->fd = -1;
	d->name[0] = d->path[0] = 0;
	if ((d->parent_fd = open_parent(tmp, err, errlen)) < 0)
		return -1;
	sweep_with(d->parent_fd, stale);
	if (make_dir(d, label) < 0) {
		snprintf(err, errlen, "cannot create a private directory in %s: %s (set TMPDIR to a writable directory)",
			 tmp, strerror(errno));
		d->name[0] = 0;
		return -1;
	}
	d->fd = openat(d->parent_fd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char mark[64];
	mark_name(mark, sizeof mark);
	int mfd = d->fd < 0 ? -1 : openat(d->fd, mark, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (mfd >= 0)
		close(mfd);
	if (d->fd < 0 || !same_dir(d->parent_fd, d->name, d->fd, geteuid()) || mfd < 0 ||
	    flock(d->fd, LOCK_EX | LOCK_NB) < 0 || fchmod(d->fd, 0711) < 0) {
		snprintf(err, errlen, "cannot open the private directory %s/%s: %s", tmp, d->name, strerror(errno));
		return -1;
	}
	snprintf(d->path, sizeof d->path, "%s/%s", tmp, d->name);
	return 0;
}

int ma_session_dir_create(struct ma_session_dir *d, char *err, size_t errlen)
{
	char label[16];
	snprintf(label, sizeof label, "%d", (int)getpid());
	return create(d, label, err, errlen);
}

int ma_session_dir_create_for(struct ma_session_dir *d, pid_t target, char *err, size_t errlen)
{
	char label[72];
	unsigned long long st = start_time((int)target);
	if (!st) {
		snprintf(err, errlen, "process %d is gone", (int)target);
		d->fd = d->parent_fd = -1;
		return -1;
	}
	snprintf(label, sizeof label, "t%d.%llu.%llu", (int)target, st, pidns_ino());
	return create(d, label, err, errlen);
}

/* A directory of the target's root, resolved inside it (a symlink there
 * cannot lead out), that nobody but root and the target's user can
 * rearrange, on a file system that takes new files and maps them
 * executable.  Its descriptor, or -1 with why (errno, *why). */
static int open_target_parent(int root_fd, const char *dir, uid_t uid, const char **why)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct stat st;
	struct statvfs vfs;
	int fd = (int)syscall(SYS_openat2, root_fd, dir, &how, sizeof how);
	*why = "missing";
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || fstatvfs(fd, &vfs) < 0)
		*why = "unreadable";
	else if (st.st_uid != 0 && st.st_uid != uid && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		*why = "writable by others";
	else if (vfs.f_flag & ST_RDONLY)
		*why = "read-only";
	else if (vfs.f_flag & ST_NOEXEC)
		*why = "mounted noexec";
	else
		return fd;
	close(fd);
	return -1;
}

#define MAX_CANDIDATES 24

/* Where a container keeps scratch space, then its root itself (a root made
 * of the program and its libraries has no /tmp), then every other mount
 * it has (a read-only root with a writable volume: Kubernetes' emptyDir).
 * Mount points are as the target names them (mountinfo's field 5). */
static int candidates(pid_t target, char dirs[][256])
{
	static const char *const fixed[] = { "/tmp", "/var/tmp", "/dev/shm", "/run", "/" };
	char path[64], line[4096];
	int n = 0;
	for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
		snprintf(dirs[n++], 256, "%s", fixed[i]);
	snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)target);
	FILE *f = fopen(path, "re");
	while (f && n < MAX_CANDIDATES && fgets(line, sizeof line, f)) {
		char mp[256], opts[256], *o = dirs[n];
		if (sscanf(line, "%*s %*s %*s %*s %255s %255s", mp, opts) != 2 || strncmp(opts, "rw", 2) ||
		    !strncmp(mp, "/proc", 5) || !strncmp(mp, "/sys", 4))
			continue;
		/* octal escapes (\040 for a space) */
		for (const char *p = mp; *p; p++)
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
				*o++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		*o = 0;
		int dup = 0;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(dirs[i], dirs[n]);
		n += !dup;
	}
	if (f)
		fclose(f);
	return n;
}

int ma_session_dir_create_in_root(struct ma_session_dir *d, pid_t target, uid_t uid, char *err, size_t errlen)
{
	char root[64], label[48], tried[1024] = "", dirs[MAX_CANDIDATES][256];
	int nd = candidates(target, dirs);
	size_t tl = 0;
	unsigned long long st = start_time((int)target);
	d->fd = d->parent_fd = -1;
	d->name[0] = d->path[0] = 0;
	snprintf(root, sizeof root, "/proc/%d/root", (int)target);
	int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0 || !st) {
		snprintf(err, errlen, "cannot reach the root directory of process %d: %s", (int)target,
			 strerror(root_fd < 0 ? errno : ESRCH));
		if (root_fd >= 0)
			close(root_fd);
		return -1;
	}
	snprintf(label, sizeof label, "c%d.%llu", (int)target, st);
	for (int i = 0; i < nd; i++) {
		const char *why;
		d->parent_fd = open_target_parent(root_fd, dirs[i], uid, &why);
		if (d->parent_fd >= 0)
			sweep_with(d->parent_fd, stale_in_root);
		if (d->parent_fd >= 0 && make_dir(d, label) < 0) {
			why = errno == EROFS ? "read-only" : strerror(errno);
			close(d->parent_fd);
			d->parent_fd = -1;
		}
		if (d->parent_fd >= 0) {
			snprintf(d->path, sizeof d->path, "%.255s/%.63s", strcmp(dirs[i], "/") ? dirs[i] : "", d->name);
			break;
		}
		tl += (size_t)snprintf(tried + tl, sizeof tried - tl, "%s%s %s", tl ? ", " : "", dirs[i], why);
		if (tl >= sizeof tried)
			tl = sizeof tried - 1;
	}
	close(root_fd);
	if (d->parent_fd < 0) {
		snprintf(err, errlen, "process %d has no directory where memattach can put the agent for it to load (%s): "
			 "give it a writable, executable mount (a tmpfs or an emptyDir volume)", (int)target, tried);
		return -2;
	}
	/* locked before it is 0711: see is_unlocked */
	d->fd = openat(d->parent_fd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0 || !same_dir(d->parent_fd, d->name, d->fd, geteuid()) || flock(d->fd, LOCK_EX | LOCK_NB) < 0 ||
	    fchmod(d->fd, 0711) < 0) {
		snprintf(err, errlen, "cannot open the private directory %s in the root of process %d: %s", d->name,
			 (int)target, strerror(errno));
		return -1;
	}
	return 0;
}

int ma_session_dir_visible_to(struct ma_session_dir *d, pid_t target)
{
	char p[PATH_MAX + 64];
	struct stat a, b;
	snprintf(p, sizeof p, "/proc/%d/root%s", (int)target, d->path);
	return d->fd >= 0 && stat(p, &a) == 0 && fstat(d->fd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

int ma_session_dir_bind(struct ma_session_dir *d, int sock, const char *name,
			uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	/* through our descriptor: the directory's path is not walked again */
	snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", d->fd, name);
	mode_t old = umask(0177);
	int r = bind(sock, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0) {
		snprintf(err, errlen, "cannot listen in %s: %s (is /proc mounted?)", d->path, strerror(errno));
		return -1;
	}
	/* Only we can change the directory's entries, so this is our socket.
	 * A user may attach a target of another uid only in a user namespace
	 * it owns (a rootless container), where it cannot give the socket
	 * away: open to all then, as an abstract socket is, and the accept
	 * takes only the target's pid (SO_PEERCRED). */
	if ((uid == geteuid() && gid == getegid()) || fchownat(d->fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno == EPERM && geteuid() != 0 && fchmodat(d->fd, name, 0666, 0) == 0) {
		d->open_to_all = 1;
		return 0;
	}
	snprintf(err, errlen, "cannot give the socket in %s to uid %u: %s", d->path, (unsigned)uid, strerror(errno));
	return -1;
}

int ma_session_dir_create_file(struct ma_session_dir *d, const char *name, mode_t mode)
{
	return openat(d->fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

void ma_session_dir_unlink(struct ma_session_dir *d, const char *name)
{
	if (d->fd >= 0)
		unlinkat(d->fd, name, 0);
}

void ma_session_dir_remove(struct ma_session_dir *d)
{
	if (d->fd >= 0 && d->name[0])
		remove_dir(d->parent_fd, d->name, d->fd);
	ma_session_dir_close(d);
}

void ma_session_dir_close(struct ma_session_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->parent_fd >= 0)
		close(d->parent_fd);
	d->fd = d->parent_fd = -1;
	d->name[0] = 0;
}

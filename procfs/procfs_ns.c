/* procfs_ns.c — a process in other namespaces, seen from here: the paths
 * of its maps as it names them itself, its mapped files, and its pid and
 * thread ids inside its pid namespace (NSpid). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procfs/procfs.h"

void ma_proc_path_in_target(pid_t pid, const char *path, char *out, size_t len)
{
	char link[64], root[PATH_MAX];
	snprintf(link, sizeof link, "/proc/%d/root", (int)pid);
	ssize_t n = readlink(link, root, sizeof root - 1);
	root[n > 0 ? n : 0] = 0;
	size_t rl = strlen(root);
	/* /proc/PID/maps names files from the reader's root: inside a chroot
	 * of ours the path starts with that root's own path */
	if (rl > 1 && !strncmp(path, root, rl) && path[rl] == '/')
		path += rl;
	snprintf(out, len, "%s", path);
}

int ma_proc_open_mapped(pid_t pid, unsigned long start, unsigned long end, const char *path)
{
	char p[PATH_MAX + 64], in_target[PATH_MAX];
	snprintf(p, sizeof p, "/proc/%d/map_files/%lx-%lx", (int)pid, start, end);
	int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0 || !path)
		return fd;
	/* without CAP_SYS_ADMIN: the file by its name, in the target's root */
	ma_proc_path_in_target(pid, path, in_target, sizeof in_target);
	ma_proc_root(pid, in_target, p, sizeof p);
	return open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

int ma_proc_nspid(pid_t pid, pid_t tid, pid_t *inner, int *levels)
{
	char path[64], buf[4096];
	if (tid)
		snprintf(path, sizeof path, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (ma_proc_read_file(path, buf, sizeof buf) < 0)
		return -1;
	char *p = strstr(buf, "\nNSpid:");
	if (!p) {
		errno = ENOENT;
		return -1;
	}
	p += 7;
	int n = 0;
	long v = 0;
	/* one number per pid namespace, ours first, its own last */
	for (char *end; *p != '\n' && *p; p = end) {
		long x = strtol(p, &end, 10);
		if (end == p)
			break;
		v = x;
		n++;
	}
	if (!n) {
		errno = EINVAL;
		return -1;
	}
	*inner = (pid_t)v;
	if (levels)
		*levels = n;
	return 0;
}

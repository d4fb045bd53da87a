/* target_view.c — what the target sees that the injector must know about
 * before it touches it: whether a path is visible to it (its own root,
 * its own /proc/self), and its seccomp mode (for the cause of a failure). */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int ma_inj_visible_to(pid_t pid, const char *so_path)
{
	char path[PATH_MAX + 64];
	int fd, end = 0;

	/* its own descriptor (a memfd): /proc/self is the target's there,
	 * not ours, so it is looked at through its pid */
	if (sscanf(so_path, "/proc/self/fd/%d%n", &fd, &end) == 1 && !so_path[end])
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	else
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, so_path);
	return access(path, R_OK) == 0 ? 0 : errno;
}

int ma_inj_seccomp_mode(pid_t pid)
{
	char p[64], line[256];
	int mode = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	if (!(f = fopen(p, "re")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(f);
	return mode;
}

/* 1 when this process's user owns a user namespace between the target's
 * and ours (a rootless container it made): the kernel then gives it every
 * capability over the target, CAP_SYS_PTRACE included, whatever uid the
 * target runs as inside.  The walk the kernel makes (cap_capable), by
 * NS_GET_PARENT / NS_GET_OWNER_UID. */
int ma_inj_owns_user_ns(pid_t pid)
{
	char p[64];
	struct stat mine, st;
	int owns = 0, fd;

	snprintf(p, sizeof(p), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &mine) < 0 || (fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	for (int depth = 0; !owns && depth < 33; depth++) {
		uid_t owner;
		int parent = ioctl(fd, NS_GET_PARENT);

		if (parent < 0 || fstat(parent, &st) < 0) {
			if (parent >= 0)
				close(parent);
			break;   /* not below ours */
		}
		if (st.st_dev == mine.st_dev && st.st_ino == mine.st_ino)
			owns = ioctl(fd, NS_GET_OWNER_UID, &owner) == 0 && owner == geteuid();
		close(fd);
		fd = parent;
		if (st.st_dev == mine.st_dev && st.st_ino == mine.st_ino)
			break;
	}
	close(fd);
	return owns;
}

/* target_view.c — what the target sees that the injector must know about
 * before it touches it: whether a path is visible to it (its own root,
 * its own /proc/self), and its seccomp mode (for the cause of a failure). */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
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

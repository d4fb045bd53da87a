/* capture_root.c — see capture_root.h.  Whatever the root, each file is
 * used only with the build id the target reported (symbolize.c): a root
 * that holds other files gives no names, never wrong ones. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "cli/capture/target_root.h"
#include "cli/symbols/capture_root.h"
#include "cli/symbols/target_files.h"

static void use_host(struct ma_symbol_root *out, const char *why)
{
	out->prefix[0] = 0;
	out->other = why[0] != 0;
	snprintf(out->from, sizeof out->from, "from this machine's files%s", why);
}

/* dir without its trailing slashes ("/" stays), made current. */
static int use_dir(struct ma_symbol_root *out, const char *dir, int fd, const char *exe, const char *how)
{
	char d[PATH_MAX];
	size_t n = strlen(dir);
	if (n >= sizeof d) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(d, dir, n + 1);
	while (n > 1 && d[n - 1] == '/')
		d[--n] = 0;
	if (!strcmp(d, "/")) {
		if (fd >= 0)
			close(fd);
		use_host(out, " (--root /)");
		return 0;
	}
	if (ma_target_files_root(d, fd, exe) < 0)
		return -1;
	snprintf(out->prefix, sizeof out->prefix, "%s", d);
	out->other = 1;
	snprintf(out->from, sizeof out->from, "through the target's root %s (%s)", d, how);
	return 0;
}

/* /proc/PID/root of the recorded process if it still runs: opened, then
 * checked (a pid that was reused in between fails the check). */
static int use_running(struct ma_symbol_root *out, const struct ma_target_root *r)
{
	char dir[64], how[96];
	snprintf(dir, sizeof dir, "/proc/%d/root", (int)r->pid);
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!ma_target_root_alive(r)) {
		close(fd);
		return -1;
	}
	snprintf(how, sizeof how, "of the target, pid %d, still running", (int)r->pid);
	return use_dir(out, dir, fd, r->exe, how);
}

int ma_symbol_root_choose(const char *capture, const char *user_root, struct ma_symbol_root *out,
			  char *err, size_t errlen)
{
	struct ma_target_root r;
	int rr = ma_target_root_read(capture, &r);
	if (user_root) {
		if (use_dir(out, user_root, -1, rr == 1 ? r.exe : NULL, "given with --root") < 0) {
			snprintf(err, errlen, "--root %s: %s; give the directory that is the target's root",
				 user_root, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (rr != 1) {
		use_host(out, "");
		return 0;
	}
	if (use_running(out, &r) == 0)
		return 0;
	if (r.host_path[0] && use_dir(out, r.host_path, -1, r.exe, "recorded") == 0)
		return 0;
	/* the root is gone: files at the same path here, if the build id matches */
	snprintf(out->from, sizeof out->from,
		 "from this machine's files (the target's root%s%s is gone; --root DIR names it)",
		 r.host_path[0] ? " " : "", r.host_path);
	out->prefix[0] = 0;
	out->other = 1;
	return 0;
}

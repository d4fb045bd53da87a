/* target_files.c — opening what the stream names, as the target's user.
 * A target can name any path in its Module records (or swap a file for a
 * symlink or a FIFO after loading it): root's memattach must read no more
 * than the target's user could, and must never hang on an open.  The
 * credentials are taken per thread with the raw setfsuid, setfsgid and
 * setgroups system calls (glibc's wrappers of setgroups would change every
 * thread); a non-zero fsuid drops the file capabilities on the way. */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <libelf.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cli/symbols/target_files.h"
#include "procfs/procfs.h"

#define MAX_GROUPS 256
#define MAX_FILE_SIZE (4ull << 30)

static int have_target;
static uid_t t_uid;
static gid_t t_gid;
static gid_t t_groups[MAX_GROUPS];
static int t_ngroups;
/* The target's root, opened while we are still root: paths under it are
 * resolved inside it (absolute symlinks too), and a target that is not
 * dumpable (a daemon that changed its uid) keeps its files reachable. */
static int t_root_fd = -1;
static char t_root_path[PATH_MAX];
/* The target's root is not ours (a container): its files are never
 * looked for at the same path here.  Its executable, as it names it. */
static int t_other_root;
static char t_exe[PATH_MAX];

static __thread int entered;
static __thread uid_t saved_uid;
static __thread gid_t saved_gid;
static __thread gid_t saved_groups[MAX_GROUPS];
static __thread int saved_ngroups;
static __thread char prefix[256];

static void note_root(pid_t pid)
{
	char exe[64], host[PATH_MAX];
	struct stat a, b;
	t_other_root = t_root_fd >= 0 && fstat(t_root_fd, &a) == 0 && stat("/", &b) == 0 &&
		       (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
	/* without /proc in its root the agent cannot name the executable */
	snprintf(exe, sizeof exe, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(exe, host, sizeof host - 1);
	host[n > 0 ? n : 0] = 0;
	if (!strcmp(host + (n > 10 ? n - 10 : 0), " (deleted)"))
		host[n - 10] = 0;
	ma_proc_path_in_target(pid, host, t_exe, sizeof t_exe);
}

int ma_target_other_root(void)
{
	return t_other_root;
}

const char *ma_target_exe(void)
{
	return t_exe;
}

/* "Uid:\treal\teffective\tsaved\tfs" and the like; the fs one is for files. */
void ma_target_files_as(pid_t pid)
{
	char path[64], line[4096];
	unsigned u = 0, g = 0;
	int got = 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	t_ngroups = 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "Uid:\t%*u\t%*u\t%*u\t%u", &u) == 1)
			got |= 1;
		else if (sscanf(line, "Gid:\t%*u\t%*u\t%*u\t%u", &g) == 1)
			got |= 2;
		else if (!strncmp(line, "Groups:", 7)) {
			char *p = line + 7, *e;
			for (unsigned long v; t_ngroups < MAX_GROUPS && (v = strtoul(p, &e, 10), e != p); p = e)
				t_groups[t_ngroups++] = (gid_t)v;
		}
	}
	fclose(f);
	if (t_root_fd >= 0)
		close(t_root_fd);
	snprintf(t_root_path, sizeof t_root_path, "/proc/%d/root", (int)pid);
	t_root_fd = open(t_root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	note_root(pid);
	t_uid = u;
	t_gid = g;
	/* Only root changes who it is; anyone else attaches to its own. */
	have_target = got == 3 && geteuid() == 0 && (u != 0 || g != 0);
}

int ma_target_files_root(const char *dir, int fd, const char *exe)
{
	struct stat a, b;
	if (fd < 0)
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || strlen(dir) >= sizeof t_root_path) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (t_root_fd >= 0)
		close(t_root_fd);
	t_root_fd = fd;
	snprintf(t_root_path, sizeof t_root_path, "%s", dir);
	t_other_root = fstat(fd, &a) == 0 && stat("/", &b) == 0 &&
		       (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
	snprintf(t_exe, sizeof t_exe, "%s", exe ? exe : "");
	return 0;
}

int ma_target_files_enter(void)
{
	if (!have_target || entered)
		return 0;
	saved_uid = (uid_t)syscall(SYS_setfsuid, -1);
	saved_gid = (gid_t)syscall(SYS_setfsgid, -1);
	saved_ngroups = getgroups(MAX_GROUPS, saved_groups);
	if (saved_ngroups < 0 || syscall(SYS_setgroups, t_ngroups, t_groups) < 0)
		return -1;
	syscall(SYS_setfsgid, t_gid);
	syscall(SYS_setfsuid, t_uid);
	entered = 1;
	/* setfsuid says nothing of failure: ask again */
	if ((uid_t)syscall(SYS_setfsuid, -1) != t_uid || (gid_t)syscall(SYS_setfsgid, -1) != t_gid) {
		ma_target_files_leave();
		return -1;
	}
	return 0;
}

void ma_target_files_leave(void)
{
	if (!entered)
		return;
	syscall(SYS_setfsuid, saved_uid);
	syscall(SYS_setfsgid, saved_gid);
	syscall(SYS_setgroups, saved_ngroups, saved_groups);
	entered = 0;
}

void ma_target_files_prefix(const char *p)
{
	snprintf(prefix, sizeof prefix, "%s", p ? p : "");
}

/* path under the target's root, resolved inside it (kernels ≥ 5.6); -2
 * when that cannot be done here. */
static int open_in_root(const char *path, int flags)
{
	size_t n = strlen(t_root_path);
	if (t_root_fd < 0 || !n || strncmp(path, t_root_path, n) || path[n] != '/')
		return -2;
	struct open_how how = { .flags = (unsigned)flags,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, t_root_fd, path + n + 1, &how, sizeof how);
	return fd < 0 && errno == ENOSYS ? -2 : fd;
}

int ma_target_file_open(const char *path)
{
	struct stat st;
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd = open_in_root(path, flags);
	if (fd == -2)
		fd = open(path, flags);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > MAX_FILE_SIZE ||
	    fcntl(fd, F_SETFL, 0) < 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int has_build_id(int fd, const unsigned char *bits, int len)
{
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *b = NULL;
	ssize_t n = e ? dwelf_elf_gnu_build_id(e, &b) : -1;
	int same = n == len && memcmp(b, bits, (size_t)len) == 0;
	if (e)
		elf_end(e);
	return same;
}

/* One candidate: opened, and of the module's build id when it has one. */
static int try_debug(const char *path, const unsigned char *bits, int len, char **name)
{
	int fd = ma_target_file_open(path);
	if (fd < 0)
		return -1;
	if (len > 0 && !has_build_id(fd, bits, len)) {
		close(fd);
		return -1;
	}
	*name = strdup(path);
	return fd;
}

/* <root>/usr/lib/debug/.build-id/ab/cdef....debug */
static int by_build_id(const unsigned char *bits, int len, char **name)
{
	const char *roots[2] = { prefix, "" };
	for (int r = 0; r < 2; r++) {
		char p[PATH_MAX];
		int k = snprintf(p, sizeof p, "%s/usr/lib/debug/.build-id/%02x/", roots[r], bits[0]);
		for (int i = 1; i < len && k < (int)sizeof p - 8; i++)
			k += snprintf(p + k, sizeof p - (size_t)k, "%02x", bits[i]);
		snprintf(p + k, sizeof p - (size_t)k, ".debug");
		int fd = try_debug(p, bits, len, name);
		if (fd >= 0)
			return fd;
		if (r == 0 && !prefix[0])
			r++;   /* the same place twice */
	}
	return -1;
}

/* A .gnu_debuglink name beside the file, in .debug/ there, and under
 * /usr/lib/debug (the target's, then ours); an absolute one (dwz's
 * alternate file) in the target's root, then ours. */
static int by_link(const char *file_name, const char *link, const unsigned char *bits, int len,
		   char **name)
{
	char dir[PATH_MAX], p[PATH_MAX * 2];
	size_t pl = strlen(prefix);
	int fd = -1;
	if (link[0] == '/') {
		snprintf(p, sizeof p, "%s%s", prefix, link);
		if ((fd = try_debug(p, bits, len, name)) < 0 && pl)
			fd = try_debug(link, bits, len, name);
		return fd;
	}
	snprintf(dir, sizeof dir, "%s", file_name ? file_name : "");
	char *slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	*slash = 0;
	const char *inroot = strncmp(dir, prefix, pl) == 0 ? dir + pl : dir;
	const char *fmt[4] = { "%s/%s", "%s/.debug/%s", NULL, NULL };
	for (int i = 0; i < 2 && fd < 0; i++) {
		snprintf(p, sizeof p, fmt[i], dir, link);
		fd = try_debug(p, bits, len, name);
	}
	if (fd < 0) {
		snprintf(p, sizeof p, "%s/usr/lib/debug%s/%s", prefix, inroot, link);
		fd = try_debug(p, bits, len, name);
	}
	if (fd < 0 && pl) {
		snprintf(p, sizeof p, "/usr/lib/debug%s/%s", inroot, link);
		fd = try_debug(p, bits, len, name);
	}
	return fd;
}

int ma_target_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)userdata;
	(void)modname;
	(void)base;
	const unsigned char *bits = NULL;
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, &bits, &vaddr);
	/* dwz's alternate file is asked for with no CRC: it has a build id of
	 * its own, not the module's */
	if (debuglink_file && debuglink_crc == 0)
		return by_link(file_name, debuglink_file, NULL, 0, debuginfo_file_name);
	int fd = len > 0 ? by_build_id(bits, len, debuginfo_file_name) : -1;
	if (fd < 0 && debuglink_file)
		fd = by_link(file_name, debuglink_file, bits, len > 0 ? len : 0, debuginfo_file_name);
	return fd;
}

/* follow_loop.c: each target's identity, kept while others are attached. */
void ma_target_files_get(struct ma_target_id *id)
{
	id->have = have_target;
	id->uid = t_uid;
	id->gid = t_gid;
	id->ngroups = t_ngroups;
	memcpy(id->groups, t_groups, sizeof(gid_t) * (size_t)t_ngroups);
	id->root_fd = t_root_fd >= 0 ? fcntl(t_root_fd, F_DUPFD_CLOEXEC, 0) : -1;
	snprintf(id->root_path, sizeof id->root_path, "%s", t_root_path);
	id->other_root = t_other_root;
	snprintf(id->exe, sizeof id->exe, "%s", t_exe);
}

unsigned ma_target_files_uid(void)
{
	return have_target ? (unsigned)t_uid : (unsigned)geteuid();
}

void ma_target_files_set(const struct ma_target_id *id)
{
	have_target = id->have;
	t_uid = id->uid;
	t_gid = id->gid;
	t_ngroups = id->ngroups;
	memcpy(t_groups, id->groups, sizeof(gid_t) * (size_t)id->ngroups);
	if (t_root_fd >= 0)
		close(t_root_fd);
	t_root_fd = id->root_fd >= 0 ? fcntl(id->root_fd, F_DUPFD_CLOEXEC, 0) : -1;
	snprintf(t_root_path, sizeof t_root_path, "%s", id->root_path);
	t_other_root = id->other_root;
	snprintf(t_exe, sizeof t_exe, "%s", id->exe);
}

void ma_target_files_drop(struct ma_target_id *id)
{
	if (id->root_fd >= 0)
		close(id->root_fd);
	id->root_fd = -1;
	id->have = 0;
}

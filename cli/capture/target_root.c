/* target_root.c — see target_root.h.  The host path is only ever a
 * directory that is the target's root by device and inode at the time of
 * recording; a path found later under that name may hold other files, so
 * the report checks every file's build id as it always does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/capture/target_root.h"
#include "procfs/procfs.h"

static int is_dir_of(const char *path, const struct stat *want)
{
	struct stat st;
	return path[0] == '/' && stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
	       st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* mountinfo writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *d = s;
	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = 0;
}

struct mnt {
	unsigned major, minor;
	char root[PATH_MAX], point[PATH_MAX];
};

/* One mountinfo line: "ID PARENT MAJ:MIN ROOT POINT ...".  0 or -1. */
static int parse_mount(const char *line, struct mnt *m)
{
	char fmt[64];
	snprintf(fmt, sizeof fmt, "%%*u %%*u %%u:%%u %%%ds %%%ds", PATH_MAX - 1, PATH_MAX - 1);
	if (sscanf(line, fmt, &m->major, &m->minor, m->root, m->point) != 4)
		return -1;
	unescape(m->root);
	unescape(m->point);
	return 0;
}

/* The mount the process sees as "/" (the last one: mounts stack). */
static int target_root_mount(pid_t pid, struct mnt *out)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int found = 0;
	struct mnt *m = malloc(sizeof *m);
	snprintf(path, sizeof path, "/proc/%d/mountinfo", (int)pid);
	FILE *f = m ? fopen(path, "re") : NULL;
	while (f && getline(&line, &cap, f) > 0)
		if (parse_mount(line, m) == 0 && !strcmp(m->point, "/")) {
			*out = *m;
			found = 1;
		}
	if (f)
		fclose(f);
	free(line);
	free(m);
	return found;
}

/* A mount point of ours that shows the same file system from a directory
 * above the target's root: that root is point + the rest of its path. */
static int root_by_mounts(pid_t pid, const struct stat *want, char *out, size_t len)
{
	struct mnt *t = malloc(sizeof *t), *m = malloc(sizeof *m);
	char *line = NULL, *cand = malloc(2 * PATH_MAX);
	size_t cap = 0;
	int found = 0;
	FILE *f = NULL;
	if (t && m && cand && target_root_mount(pid, t))
		f = fopen("/proc/self/mountinfo", "re");
	while (f && !found && getline(&line, &cap, f) > 0) {
		if (parse_mount(line, m) < 0 || m->major != t->major || m->minor != t->minor)
			continue;
		size_t n = strlen(m->root);
		if (!strcmp(m->root, "/"))
			n = 0;
		else if (strncmp(t->root, m->root, n) || (t->root[n] && t->root[n] != '/'))
			continue;
		const char *rest = strcmp(t->root + n, "/") ? t->root + n : "";
		snprintf(cand, 2 * PATH_MAX, "%s%s", strcmp(m->point, "/") ? m->point : "", rest);
		if (!cand[0])
			strcpy(cand, "/");
		if (is_dir_of(cand, want) && strlen(cand) < len) {
			snprintf(out, len, "%s", cand);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	free(line);
	free(cand);
	free(t);
	free(m);
	return found;
}

static int read_start_ticks(pid_t pid, uint64_t *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	/* after the comm's last ')': state is field 3, starttime field 22 */
	char *p = strrchr(buf, ')');
	unsigned long long v;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &v) != 1)
		return -1;
	*ticks = v;
	return 0;
}

static void read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	buf[0] = 0;
	if (f && fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	if (f)
		fclose(f);
}

int ma_target_root_describe(pid_t pid, struct ma_target_root *r)
{
	char link[64], path[PATH_MAX];
	struct stat tr, ours;
	memset(r, 0, sizeof *r);
	snprintf(link, sizeof link, "/proc/%d/root", (int)pid);
	if (pid <= 0 || stat(link, &tr) < 0 || stat("/", &ours) < 0)
		return 0;
	if (tr.st_dev == ours.st_dev && tr.st_ino == ours.st_ino)
		return 0;
	r->pid = pid;
	if (read_start_ticks(pid, &r->start_ticks) < 0)
		return 0;
	read_boot_id(r->boot_id, sizeof r->boot_id);
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n > 0) {
		path[n] = 0;
		ma_proc_path_in_target(pid, path, r->exe, sizeof r->exe);
	}
	snprintf(link, sizeof link, "/proc/%d/root", (int)pid);
	n = readlink(link, path, sizeof path - 1);
	path[n > 0 ? n : 0] = 0;
	if (n > 0 && is_dir_of(path, &tr))
		snprintf(r->host_path, sizeof r->host_path, "%s", path);
	else
		root_by_mounts(pid, &tr, r->host_path, sizeof r->host_path);
	return 1;
}

int ma_target_root_alive(const struct ma_target_root *r)
{
	uint64_t t;
	char boot[40];
	read_boot_id(boot, sizeof boot);
	return r->pid > 0 && read_start_ticks(r->pid, &t) == 0 && t == r->start_ticks &&
	       !strcmp(boot, r->boot_id);
}

int ma_target_root_write(const struct ma_target_root *r, ma_capture_writer *w,
			 int (*on_record)(void *ctx, const uint8_t *rec, size_t len), void *ctx)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__TargetIds m = MEMATTACH__TARGET_IDS__INIT;
	m.root_pid = (uint32_t)r->pid;
	m.root_start_ticks = r->start_ticks;
	m.root_boot_id = (char *)r->boot_id;
	m.root_host_path = (char *)r->host_path;
	m.executable = (char *)r->exe;
	rec.r_case = MEMATTACH__RECORD__R_TARGET_IDS;
	rec.target_ids = &m;
	if (!on_record)
		return ma_capture_writer_write_record(w, &rec) < 0 ? -1 : 0;
	size_t len = memattach__record__get_packed_size(&rec);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	memattach__record__pack(&rec, buf);
	int rc = on_record(ctx, buf, len) ? -1 : 0;
	free(buf);
	return rc;
}

int ma_target_root_read(const char *capture_path, struct ma_target_root *r)
{
	char err[256];
	memset(r, 0, sizeof *r);
	ma_capture_reader *rd = ma_capture_reader_open(capture_path, err, sizeof err);
	if (!rd)
		return -1;
	ma_capture_reader_only(rd, MEMATTACH__RECORD__R_TARGET_IDS);
	Memattach__Record *rec;
	while (!r->pid && ma_capture_reader_next(rd, &rec) > 0) {
		const Memattach__TargetIds *t = rec->target_ids;
		if (t && t->root_pid) {
			snprintf(r->exe, sizeof r->exe, "%s", t->executable ? t->executable : "");
			r->pid = (pid_t)t->root_pid;
			r->start_ticks = t->root_start_ticks;
			snprintf(r->boot_id, sizeof r->boot_id, "%s", t->root_boot_id ? t->root_boot_id : "");
			snprintf(r->host_path, sizeof r->host_path, "%s",
				 t->root_host_path ? t->root_host_path : "");
		}
		ma_capture_record_free(rec);
	}
	ma_capture_reader_close(rd);
	return r->pid ? 1 : 0;
}

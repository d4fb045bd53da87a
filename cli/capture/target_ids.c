/* target_ids.c — a container's pids and thread ids as memattach sees them.
 * The agent knows only its own namespace's numbers (getpid, gettid); the
 * host's are what `ps`, `top` and the user's --pid say, so the capture
 * keeps both and the reports show both. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/capture/target_ids.h"
#include "procfs/procfs.h"

struct ma_target_ids *ma_target_ids_new(pid_t pid)
{
	pid_t inner;
	int levels;
	if (ma_proc_nspid(pid, 0, &inner, &levels) < 0 || levels < 2)
		return NULL;
	struct ma_target_ids *t = calloc(1, sizeof *t);
	if (t) {
		t->pid = pid;
		t->pid_in_ns = inner;
	}
	return t;
}

static int known(const struct ma_target_ids *t, uint32_t tid)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->tid[i] == tid)
			return 1;
	return 0;
}

static void add(struct ma_target_ids *t, uint32_t tid, uint32_t inner)
{
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 16;
		uint32_t *a = cap <= MA_TARGET_IDS_MAX_THREADS ? realloc(t->tid, cap * sizeof *a) : NULL;
		uint32_t *b = a ? realloc(t->tid_in_ns, cap * sizeof *b) : NULL;
		if (a)
			t->tid = a;
		if (!b)
			return;
		t->tid_in_ns = b;
		t->cap = cap;
	}
	t->tid[t->n] = tid;
	t->tid_in_ns[t->n++] = inner;
}

void ma_target_ids_scan(struct ma_target_ids *t)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)t->pid);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name), inner;
		if (tid > 0 && !known(t, (uint32_t)tid) && ma_proc_nspid(t->pid, tid, &inner, NULL) == 0)
			add(t, (uint32_t)tid, (uint32_t)inner);
	}
	if (d)
		closedir(d);
}

/* The first record names the process as this side reads it. */
static void describe(struct ma_target_ids *t, Memattach__TargetIds *m, char *comm, char *cmd, char *exe)
{
	char p[64], host[4096];
	size_t n;
	if (ma_proc_comm(t->pid, comm, 64) == 0)
		m->comm = comm;
	snprintf(p, sizeof p, "/proc/%d/cmdline", (int)t->pid);
	FILE *f = fopen(p, "re");
	if (f) {
		n = fread(cmd, 1, 4095, f);
		fclose(f);
		for (size_t i = 0; i + 1 < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n] = 0;
		m->command_line = cmd;
	}
	snprintf(p, sizeof p, "/proc/%d/exe", (int)t->pid);
	ssize_t r = readlink(p, host, sizeof host - 1);
	if (r > 0) {
		host[r] = 0;
		ma_proc_path_in_target(t->pid, host, exe, 4096);
		m->executable = exe;
	}
}

int ma_target_ids_write(struct ma_target_ids *t, ma_capture_writer *w,
			int (*on_record)(void *ctx, const uint8_t *rec, size_t len), void *ctx)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__TargetIds m = MEMATTACH__TARGET_IDS__INIT;
	char comm[64], cmd[4096], exe[4096];
	if (t->described && t->written == t->n)
		return 0;
	m.pid = (uint32_t)t->pid;
	m.pid_in_namespace = (uint32_t)t->pid_in_ns;
	m.n_tid = m.n_tid_in_namespace = t->n - t->written;
	m.tid = t->tid + t->written;
	m.tid_in_namespace = t->tid_in_ns + t->written;
	if (!t->described)
		describe(t, &m, comm, cmd, exe);
	rec.r_case = MEMATTACH__RECORD__R_TARGET_IDS;
	rec.target_ids = &m;
	int r = 0;
	if (on_record) {
		/* a record as the agent's come: packed, without framing */
		size_t len = memattach__record__get_packed_size(&rec);
		uint8_t *buf = malloc(len ? len : 1);
		if (!buf)
			return -1;
		memattach__record__pack(&rec, buf);
		r = on_record(ctx, buf, len) ? -1 : 0;
		free(buf);
	} else {
		r = ma_capture_writer_write_record(w, &rec);
	}
	if (r >= 0) {
		t->written = t->n;
		t->described = 1;
	}
	return r < 0 ? -1 : 0;
}

void ma_target_ids_free(struct ma_target_ids *t)
{
	if (!t)
		return;
	free(t->tid);
	free(t->tid_in_ns);
	free(t);
}

/* agent_place.c — the agent file the target is to dlopen.  A target may
 * be hostile: a library it loaded itself under our agent's name is never
 * taken for ours (memattach would call it and listen to it), and the copy
 * made for a target of another user is written through the session
 * directory's descriptor, never by a path its user could redirect. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cmd/agent_place.h"
#include "cli/cmd/agent_build_id.h"
#include "cli/cmd/agent_deps.h"
#include "cli/cmd/agent_memfd.h"
#include "injector/injector.h"
#include "procfs/procfs.h"

#define AGENT_NAME "libmemattach-agent.so"
#define MAX_AGENT_SIZE (64u << 20)

struct mapped {
	uint64_t start, end;
	unsigned long long ino;
	char path[PATH_MAX];
};

/* The first mapping (offset 0) of a file whose name holds AGENT_NAME.
 * 1 found, 0 none. */
static int find_mapped_agent(pid_t pid, struct mapped *m)
{
	char maps[64], line[PATH_MAX + 128];
	int found = 0;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(maps, "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long off;
		char *p = strchr(line, '/');
		if (!p || !strstr(p, AGENT_NAME) ||
		    sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %llx %*s %llu", &m->start, &m->end, &off, &m->ino) != 4 ||
		    off != 0)
			continue;
		p[strcspn(p, "\n")] = 0;
		char *del = strstr(p, " (deleted)");
		if (del)
			*del = 0;
		/* the name the target loaded it by, which a later dlopen matches */
		ma_proc_path_in_target(pid, p, m->path, sizeof(m->path));
		found = 1;
	}
	fclose(f);
	return found;
}

/* The mapped file itself: the kernel's link to the mapping, else the path
 * in the target's root when it still names the mapped inode.  Never
 * blocks (a FIFO put at the path), regular files only. */
static int open_mapped(pid_t pid, const struct mapped *m)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof(p), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start, m->end);
	int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), n;
	if (fd < 0 && !strncmp(m->path, "/memfd:", 7) && (n = ma_agent_memfd_number(pid, m->ino)) >= 0) {
		/* loaded from memory: the memfd it keeps (no map_files unless root) */
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)pid, n);
		fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	} else if (fd < 0) {
		snprintf(p, sizeof(p), "/proc/%d/root%.4000s", (int)pid, m->path);
		fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	}
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != m->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int same_bytes(int a, int b)
{
	struct stat sa, sb;
	if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0 || sa.st_size != sb.st_size || sa.st_size > MAX_AGENT_SIZE)
		return 0;
	char x[65536], y[65536];
	for (off_t off = 0; off < sa.st_size;) {
		ssize_t n = pread(a, x, sizeof x, off);
		if (n <= 0 || pread(b, y, (size_t)n, off) != n || memcmp(x, y, (size_t)n))
			return 0;
		off += n;
	}
	return 1;
}

/* 1: the target maps exactly our agent (an earlier attach of this
 * memattach), 0: it maps something else under our agent's name. */
static int mapped_is_ours(pid_t pid, const struct mapped *m, const char *agent)
{
	int theirs = open_mapped(pid, m), mine = open(agent, O_RDONLY | O_CLOEXEC);
	int same = theirs >= 0 && mine >= 0 && same_bytes(theirs, mine);
	/* its file out of reach (not root, and gone): by its build id */
	if (theirs < 0 && geteuid() != 0)
		same = ma_agent_build_id_matches(pid, m->start, m->end, agent);
	if (theirs >= 0)
		close(theirs);
	if (mine >= 0)
		close(mine);
	return same;
}

/* src copied to NAME in the directory: root's, read-only (0555).  0, or
 * -1 with a message. */
static int copy_into(struct ma_session_dir *d, const char *src, const char *name, char *err, size_t errlen)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int o = in < 0 ? -1 : ma_session_dir_create_file(d, name, 0555);
	ssize_t n = -1;
	if (o >= 0) {
		char buf[65536];
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(o, buf, (size_t)n) != n) {
				n = -1;
				break;
			}
	}
	if (n < 0 || (o >= 0 && close(o) < 0)) {
		snprintf(err, errlen, "cannot copy %.900s to %.900s/%s: %s", src, d->path, name, strerror(errno));
		if (in >= 0)
			close(in);
		return -1;
	}
	close(in);
	return 0;
}

/* The copy lives in a directory of its own, kept while the target runs:
 * the target maps it, and a later attach reuses it by its path. */
static int copy_agent(pid_t pid, const char *agent, char *out, size_t len, char *err, size_t errlen)
{
	struct ma_session_dir cd;
	if (ma_session_dir_create_for(&cd, pid, err, errlen) < 0) {
		ma_session_dir_remove(&cd);
		return MA_AGENT_PLACE_ERROR;
	}
	snprintf(out, len, "%.4000s/%s", cd.path, MA_SESSION_AGENT_COPY);
	if (copy_into(&cd, agent, MA_SESSION_AGENT_COPY, err, errlen) < 0) {
		ma_session_dir_remove(&cd);
		return MA_AGENT_PLACE_ERROR;
	}
	ma_session_dir_close(&cd);
	return MA_AGENT_PLACE_OK;
}

/* The agent already mapped in pid: 1 when it is ours (out names it), 0
 * when none is, MA_AGENT_PLACE_FOREIGN when another library has its name. */
static int reuse_mapped(pid_t pid, const char *agent, char *out, size_t len, char *err, size_t errlen)
{
	struct mapped m;
	if (!find_mapped_agent(pid, &m))
		return 0;
	if (!mapped_is_ours(pid, &m, agent)) {
		snprintf(err, errlen, "process %d has a library named %s loaded (%.900s) that is not this memattach's agent "
			 "(another version, or not memattach's): not using it; restart the process without it",
			 (int)pid, AGENT_NAME, m.path);
		return MA_AGENT_PLACE_FOREIGN;
	}
	/* loaded from memory: by the memfd it keeps open (agent_memfd.c) */
	if (!strncmp(m.path, "/memfd:", 7) && ma_agent_memfd_path(pid, m.ino, out, len) < 0) {
		snprintf(err, errlen, "process %d holds memattach's agent, loaded from memory, but no longer the "
			 "descriptor it was loaded by: it cannot be attached again until it restarts", (int)pid);
		return MA_AGENT_PLACE_ERROR;
	}
	/* dlopen of the path it was loaded by returns the loaded one, even
	 * when that file is gone (a container's copy is removed after use) */
	if (strncmp(m.path, "/memfd:", 7))
		snprintf(out, len, "%s", m.path);
	return 1;
}

/* The agent already mapped in pid (*done: out names it), or its
 * libraries found on this machine for a new placement. */
static int reuse_or_deps(pid_t pid, const char *agent, struct ma_agent_deps *deps, int *done,
			 char *out, size_t len, char *err, size_t errlen)
{
	int r = reuse_mapped(pid, agent, out, len, err, errlen);
	*done = r != 0;
	if (r)
		return r < 0 ? r : MA_AGENT_PLACE_OK;
	if (ma_agent_deps(agent, deps) < 0) {
		snprintf(err, errlen, "cannot find %s, which the agent needs, on this machine: reinstall memattach's dependencies",
			 deps->missing[0] ? deps->missing : "the agent's libraries");
		*done = 1;
		return MA_AGENT_PLACE_ERROR;
	}
	return MA_AGENT_PLACE_OK;
}

/* The agent and its libraries copied into d; out names the agent's copy. */
static int copy_with_deps(const char *agent, const struct ma_agent_deps *deps, struct ma_session_dir *d,
			  char *out, size_t len, char *err, size_t errlen)
{
	for (int i = 0; i < deps->n; i++)
		if (copy_into(d, deps->path[i], deps->soname[i], err, errlen) < 0)
			return MA_AGENT_PLACE_ERROR;
	if (copy_into(d, agent, MA_SESSION_AGENT_COPY, err, errlen) < 0)
		return MA_AGENT_PLACE_ERROR;
	snprintf(out, len, "%.4000s/%s", d->path, MA_SESSION_AGENT_COPY);
	return MA_AGENT_PLACE_OK;
}

int ma_agent_place_in_dir(pid_t pid, const char *agent, struct ma_session_dir *d,
			  char *out, size_t len, char *err, size_t errlen)
{
	struct ma_agent_deps deps;
	int done, r = reuse_or_deps(pid, agent, &deps, &done, out, len, err, errlen);
	if (done)
		return r;
	return copy_with_deps(agent, &deps, d, out, len, err, errlen);
}

int ma_agent_copy_for_exec(const char *agent, struct ma_session_dir *d, char *out, size_t len,
			   char *err, size_t errlen)
{
	struct ma_agent_deps deps;
	if (ma_agent_deps(agent, &deps) < 0) {
		snprintf(err, errlen, "cannot find %s, which the agent needs, on this machine: reinstall memattach's dependencies",
			 deps.missing[0] ? deps.missing : "the agent's libraries");
		return MA_AGENT_PLACE_ERROR;
	}
	return copy_with_deps(agent, &deps, d, out, len, err, errlen);
}

int ma_agent_place_in_memory(pid_t pid, const char *agent, char *out, size_t len, char *err, size_t errlen)
{
	struct ma_agent_deps deps;
	int done, r = reuse_or_deps(pid, agent, &deps, &done, out, len, err, errlen);
	if (done)
		return r;
	r = ma_agent_memfd_load(pid, agent, &deps, out, len, err, errlen);
	return r == 0 ? MA_AGENT_PLACE_OK : r == MA_INJ_ERR_NO_LIBRARY ? MA_AGENT_PLACE_DENIED : MA_AGENT_PLACE_ERROR;
}

int ma_agent_place(pid_t pid, const char *agent, uid_t uid,
		   char *out, size_t len, char *err, size_t errlen)
{
	int r = reuse_mapped(pid, agent, out, len, err, errlen);
	if (r)
		return r < 0 ? r : MA_AGENT_PLACE_OK;
	struct stat mine, theirs;
	char via[PATH_MAX + 64];
	snprintf(via, sizeof(via), "/proc/%d/root%s", (int)pid, agent);
	if (agent[0] == '/' && stat(agent, &mine) == 0 && stat(via, &theirs) == 0 &&
	    mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino && uid == getuid()) {
		snprintf(out, len, "%s", agent);
		return MA_AGENT_PLACE_OK;
	}
	return copy_agent(pid, agent, out, len, err, errlen);
}

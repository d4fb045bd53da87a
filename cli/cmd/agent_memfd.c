/* agent_memfd.c — loading the agent from memory.  A read-only root with
 * no writable mount leaves no file for the target to dlopen, but the
 * target can make one of its own: memfd_create, called in it through the
 * injector; memattach fills it through a duplicate of that descriptor
 * (pidfd_getfd: it writes only what the target itself could write, never
 * a file it reopened with its own rights), and the target dlopens
 * /proc/self/fd/N.  The agent's libraries go first, the same way, so
 * that its DT_NEEDED are found loaded by soname ($ORIGIN means nothing
 * for /proc/self/fd).  The calls run in a child (the tracer), bounded in
 * time, as ma_inject_library does. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>
#include "cli/cmd/agent_memfd.h"
#include "injector/injector.h"

#define CALL_MS 10000
#define TRACER_BOUND_MS 40000
#define MAX_FILES (MA_AGENT_DEPS_MAX + 1)

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* The last pid of NSpid: pid as its own pid namespace names it. */
static int pid_inside(pid_t pid)
{
	char p[64], line[256];
	int inner = 0;
	snprintf(p, sizeof p, "/proc/%d/status", (int)pid);
	FILE *f = fopen(p, "re");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "NSpid:", 6))
			for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n"))
				inner = atoi(t);
	if (f)
		fclose(f);
	return inner;
}

int ma_agent_memfd_usable(pid_t pid, char *why, size_t len)
{
	char root[64], name[32];
	struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct statfs fs;
	struct stat st;
	snprintf(root, sizeof root, "/proc/%d/root", (int)pid);
	int rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int pfd = rfd < 0 ? -1 : (int)syscall(SYS_openat2, rfd, "/proc", &how, sizeof how);
	int ok = pfd >= 0 && fstatfs(pfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
	snprintf(name, sizeof name, "%d", pid_inside(pid));
	if (ok && fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		ok = 0;
	if (!ok)
		snprintf(why, len, "/proc in it %s", pfd < 0 ? "is missing" : "is not its proc file system");
	if (pfd >= 0)
		close(pfd);
	if (rfd >= 0)
		close(rfd);
	return ok;
}

int ma_agent_memfd_path(pid_t pid, unsigned long long ino, char *out, size_t len)
{
	int n = ma_agent_memfd_number(pid, ino);
	if (n < 0)
		return -1;
	snprintf(out, len, "/proc/self/fd/%d", n);
	return 0;
}

int ma_agent_memfd_number(pid_t pid, unsigned long long ino)
{
	char p[64];
	struct dirent *e;
	snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	int found = -1;
	while (d && found < 0 && (e = readdir(d))) {
		struct stat st;
		char link[320], target[64];
		snprintf(link, sizeof link, "%s/%s", p, e->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 7 || strncmp(target, "/memfd:", 7) || stat(link, &st) < 0 || st.st_ino != ino)
			continue;
		found = atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

struct files {
	int n;                        /* the libraries to load, then the agent */
	const char *name[MAX_FILES];  /* memfd name: the soname, the agent's */
	const char *path[MAX_FILES];  /* this machine's file */
	int tfd[MAX_FILES];           /* the target's memfd, -1 none yet */
	int left[16], nleft;          /* memfds of ours a killed memattach left */
};

struct tracer {
	pid_t pid;
	struct ma_inj *inj;
	struct ma_inj_syms syms;
	unsigned long memfd_create, close, errno_location;
	int pidfd;
	struct ma_inj_error *err;
};

static int set_err(struct ma_inj_error *err, int code, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int set_err(struct ma_inj_error *err, int code, int e, const char *fmt, ...)
{
	va_list ap;
	err->code = code;
	err->sys_errno = e;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

/* The target's errno after a call that failed. */
static int target_errno(struct tracer *t)
{
	unsigned long addr = 0;
	int e = 0;
	if (!t->errno_location || ma_inj_call(t->inj, t->errno_location, NULL, 0, &addr, CALL_MS, NULL) || !addr)
		return 0;
	struct iovec l = { &e, sizeof e }, r = { (void *)addr, sizeof e };
	return process_vm_readv(t->pid, &l, 1, &r, 1, 0) == (ssize_t)sizeof e ? e : 0;
}

static int fail(struct tracer *t, int code, int e, const char *what)
{
	int sc = ma_inj_seccomp_mode(t->pid);
	t->err->code = code;
	t->err->sys_errno = e;
	if (sc && (e == EPERM || e == EACCES || e == ENOSYS))
		snprintf(t->err->msg, sizeof t->err->msg,
			 "a seccomp filter of process %d forbids %s (%s; Seccomp: %d in /proc/%d/status), which loading "
			 "the agent from memory needs: give the process a writable mount (a tmpfs) or allow it",
			 (int)t->pid, what, strerror(e), sc, (int)t->pid);
	else
		snprintf(t->err->msg, sizeof t->err->msg, "%s failed in process %d: %s", what, (int)t->pid,
			 e ? strerror(e) : "no reason given");
	return code;
}

/* Copies path into the target's memfd tfd through a duplicate of it. */
static int fill(struct tracer *t, int tfd, const char *path)
{
	char link[64], was[32] = "";
	int fd = (int)syscall(SYS_pidfd_getfd, t->pidfd, tfd, 0), in = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	off_t off = 0;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if (fd >= 0 && readlink(link, was, sizeof was - 1) > 0 && !strncmp(was, "/memfd:", 7) && in >= 0) {
		char buf[65536];
		while ((n = read(in, buf, sizeof buf)) > 0 && pwrite(fd, buf, (size_t)n, off) == n)
			off += n;
	}
	int e = n == 0 ? 0 : errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	if (in >= 0)
		close(in);
	if (e)
		snprintf(t->err->msg, sizeof t->err->msg, "cannot fill the memory file for %s in process %d: %s", path,
			 (int)t->pid, strerror(e));
	return e ? (t->err->code = MA_INJ_ERR_SYSTEM) : 0;
}

static int make_memfd(struct tracer *t, struct files *f, int i)
{
	unsigned long a[2], ret;
	int rc;
	if (!(a[0] = ma_inj_push_string(t->inj, f->name[i], t->err)))
		return t->err->code;
	a[1] = MFD_CLOEXEC;
	if ((rc = ma_inj_call(t->inj, t->memfd_create, a, 2, &ret, CALL_MS, t->err)) != 0)
		return rc;
	if ((int)ret < 0)
		return fail(t, MA_INJ_ERR_NO_LIBRARY, target_errno(t), "memfd_create");
	f->tfd[i] = (int)ret;
	return 0;
}

/* The library the memfd tfd holds, unless one of its soname is loaded:
 * on a loader thread of the target's (the injector's, as for the agent),
 * so that no thread is stopped while the loader works. */
static int load_dep(struct tracer *t, const char *soname, int tfd)
{
	char path[48];
	snprintf(path, sizeof path, "/proc/self/fd/%d", tfd);
	return ma_inject_library(t->pid, path, NULL, soname, NULL, t->err);
}

static void close_in_target(struct tracer *t, int tfd)
{
	unsigned long a[1] = { (unsigned long)tfd }, ret;
	if (tfd >= 0)
		ma_inj_call(t->inj, t->close, a, 1, &ret, CALL_MS, NULL);
}

/* The memfd of ours (one of f's names) that descriptor name of the
 * target is, by its link: its inode, or 0. */
static unsigned long long ours(pid_t pid, const struct files *f, const char *name)
{
	char link[320], target[320];
	struct stat st;
	snprintf(link, sizeof link, "/proc/%d/fd/%s", (int)pid, name);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 7 || stat(link, &st) < 0)
		return 0;
	target[n] = 0;
	for (int i = 0; i < f->n; i++) {
		size_t l = strlen(f->name[i]);
		if (!strncmp(target, "/memfd:", 7) && !strncmp(target + 7, f->name[i], l) &&
		    !strcmp(target + 7 + l, " (deleted)"))
			return (unsigned long long)st.st_ino;
	}
	return 0;
}

/* Memfds a memattach killed during a memory load left in the target (about
 * 1 MB): the libraries' are closed once loaded and the agent's is kept
 * only once it is mapped, which it is not when we load it again.  Found
 * by their names, closed by number in the stop (each looked at again
 * there): only the program's own close of a descriptor it never opened
 * (and a new one made at that number between our look and the close)
 * could race with that. */
static void find_leftovers(pid_t pid, struct files *f)
{
	char p[64];
	struct dirent *e;
	snprintf(p, sizeof p, "/proc/%d/fd", (int)pid);
	DIR *d = opendir(p);
	f->nleft = 0;
	while (d && f->nleft < 16 && (e = readdir(d)))
		if (ours(pid, f, e->d_name))
			f->left[f->nleft++] = atoi(e->d_name);
	if (d)
		closedir(d);
}

/* In the stop: each found before, if it still is ours. */
static void close_leftovers(struct tracer *t, const struct files *f)
{
	for (int i = 0; i < f->nleft; i++) {
		char name[16];
		snprintf(name, sizeof name, "%d", f->left[i]);
		if (ours(t->pid, f, name))
			close_in_target(t, f->left[i]);
	}
}

/* tests/integration/ns-memfd-killed.sh: memattach stopped with the
 * memfds made and the libraries loaded, before the stop that closes
 * theirs; the tracer waits there until memattach is gone (then
 * PR_SET_PDEATHSIG kills it). */
static void test_stop_inside(void)
{
	if (!getenv("MEMATTACH_TEST_STOP_IN_MEMFD"))
		return;
	pid_t parent = getppid();
	kill(parent, SIGSTOP);
	while (getppid() == parent)
		poll(NULL, 0, 10);
}

/* In a stop: leftovers closed, every memfd made. */
static int make_all(struct tracer *t, struct files *f)
{
	int rc = 0;
	close_leftovers(t, f);
	for (int i = 0; rc == 0 && i < f->n; i++)
		rc = make_memfd(t, f, i);
	return rc;
}

/* In a stop: the libraries' memfds closed (loaded, they are not needed);
 * on failure (failed) the agent's too. */
static int close_all(struct tracer *t, struct files *f, int failed)
{
	for (int i = 0; i < f->n; i++)
		if (i < f->n - 1 || failed)
			close_in_target(t, f->tfd[i]);
	return 0;
}

/* One stop of one thread at a safe point, which runs make_all or
 * close_all: calls only, about 1 ms each way (one stop per call was no
 * shorter: stops in a row are one gap for the thread). */
static int in_a_stop(struct tracer *t, struct files *f, int closing, int failed)
{
	int rc = ma_inj_seize(t->pid, 0, &t->inj, t->err);
	if (rc)
		return rc;
	ma_inj_judge_memfd(t->inj);
	rc = ma_inj_find_safe_point(t->inj, 2000, t->err);
	if (rc == 0)
		rc = closing ? close_all(t, f, failed) : make_all(t, f);
	if (ma_inj_release(t->inj) && rc == 0)
		rc = set_err(t->err, MA_INJ_ERR_TARGET_GONE, errno, "could not restore process %d", (int)t->pid);
	t->inj = NULL;
	return rc;
}

/* The memfds made in a stop (calls only), filled from here while the
 * target runs, the libraries loaded by loader threads, their memfds
 * closed in a second stop; on failure the agent's too.  The loader's
 * work (16-113 ms under load, 260-717 ms with a busy loader) stops no
 * thread. */
static int run_calls(struct tracer *t, struct files *f)
{
	find_leftovers(t->pid, f);   /* looked for before the stop, closed in it */
	int rc = in_a_stop(t, f, 0, 0), last = f->n - 1;
	for (int i = 0; rc == 0 && i < f->n; i++)
		rc = fill(t, f->tfd[i], f->path[i]);
	for (int i = 0; rc == 0 && i < last; i++)
		rc = load_dep(t, f->name[i], f->tfd[i]);
	if (rc == 0)
		test_stop_inside();
	int made = 0;
	for (int i = 0; i < f->n; i++)
		made |= f->tfd[i] >= 0;
	if (made) {
		struct ma_inj_error e2, *keep = t->err;
		t->err = &e2;   /* the first failure is the one to tell */
		int rc2 = in_a_stop(t, f, 1, rc != 0);
		t->err = keep;
		if (rc == 0 && rc2)
			*t->err = e2, rc = rc2;
	}
	return rc;
}

static int lookup_libc(struct tracer *t)
{
	int rc = ma_inj_resolve_loader(t->pid, &t->syms, t->err);
	if (rc == 0 && ma_inj_lookup(t->pid, "libc.so", "memfd_create", &t->memfd_create, t->err) != 0)
		return set_err(t->err, MA_INJ_ERR_SYMBOL, 0,
				   "the C library of process %d has no memfd_create (glibc 2.27 or newer needed to load "
				   "the agent from memory): give the process a writable mount (a tmpfs)", (int)t->pid);
	if (rc == 0)
		rc = ma_inj_lookup(t->pid, "libc.so", "close", &t->close, t->err);
	if (rc == 0 && ma_inj_lookup(t->pid, "libc.so", "__errno_location", &t->errno_location, NULL) != 0)
		t->errno_location = 0;
	return rc;
}

static int load_here(pid_t pid, struct files *f, struct ma_inj_error *err)
{
	struct tracer t = { .pid = pid, .err = err, .pidfd = -1 };
	int rc = lookup_libc(&t);
	if (rc)
		return rc;
	if ((t.pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) < 0)
		return set_err(err, MA_INJ_ERR_SYSTEM, errno, "pidfd_open(%d): %s (Linux 5.6 or newer needed to "
				   "load the agent from memory)", (int)pid, strerror(errno));
	rc = run_calls(&t, f);
	close(t.pidfd);
	return rc;
}

struct result {
	int rc, agent_fd;
	struct ma_inj_error err;
};

static void tracer_main(int fd, pid_t parent, pid_t pid, struct files *f)
{
	struct result r;
	sigset_t stops;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	sigemptyset(&stops);
	sigaddset(&stops, SIGTSTP);
	sigaddset(&stops, SIGTTIN);
	sigaddset(&stops, SIGTTOU);
	sigprocmask(SIG_BLOCK, &stops, NULL);
	memset(&r, 0, sizeof r);
	r.rc = load_here(pid, f, &r.err);
	r.agent_fd = f->tfd[f->n - 1];
	_exit(write(fd, &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The tracer's result within TRACER_BOUND_MS; a stopped tracer is killed
 * (the target restores itself: safe_return.c). */
static int wait_tracer(pid_t child, int fd, struct result *r)
{
	double deadline = now_ms() + TRACER_BOUND_MS;
	size_t got = 0;
	int st;
	while (got < sizeof *r && now_ms() < deadline) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (waitpid(child, &st, WNOHANG | WUNTRACED) == child && WIFSTOPPED(st))
			return -1;
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = read(fd, (char *)r + got, sizeof *r - got);
		if (n == 0 || (n < 0 && errno != EINTR))
			return -1;
		got += n > 0 ? (size_t)n : 0;
	}
	return got == sizeof *r ? 0 : -1;
}

int ma_agent_memfd_load(pid_t pid, const char *agent, const struct ma_agent_deps *deps,
			char *out, size_t len, char *err, size_t errlen)
{
	struct files f = { 0 };
	struct result r;
	int fd[2];
	for (int i = 0; i < deps->norder; i++) {
		f.name[f.n] = deps->soname[deps->order[i]];
		f.path[f.n++] = deps->path[deps->order[i]];
	}
	f.name[f.n] = "libmemattach-agent.so";
	f.path[f.n++] = agent;
	for (int i = 0; i < f.n; i++)
		f.tfd[i] = -1;
	if (pipe2(fd, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return MA_INJ_ERR_SYSTEM;
	}
	pid_t parent = getpid(), child = fork();
	if (child == 0) {
		close(fd[0]);
		tracer_main(fd[1], parent, pid, &f);
	}
	close(fd[1]);
	int ok = child > 0 && wait_tracer(child, fd[0], &r) == 0;
	close(fd[0]);
	if (child > 0 && !ok)
		kill(child, SIGKILL);
	while (child > 0 && waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (!ok) {
		snprintf(err, errlen, "loading the agent from memory into process %d was stopped or took too long, "
			 "and was abandoned (the process goes on)", (int)pid);
		return MA_INJ_ERR_CALL;
	}
	if (r.rc) {
		snprintf(err, errlen, "%s", r.err.msg);
		return r.rc;
	}
	snprintf(out, len, "/proc/self/fd/%d", r.agent_fd);
	return 0;
}

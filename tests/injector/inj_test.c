/* inj_test.c — tests of the injector against real target processes.
 * Usage: inj_test [CASE...]   (no argument: every case)
 * Prints PASS/FAIL/SKIP per case; exits 1 if any failed, 77 if all skipped. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "config.h"
#include "injector/injector.h"
#include "cli/util/exit_codes.h"
#include "cli/cmd/inject_exit.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PASS 0
#define FAIL 1
#define SKIP 77

static char dir[PATH_MAX], target_bin[PATH_MAX], static_bin[PATH_MAX], lib[PATH_MAX];
static char failmsg[1024];
static double lat_sum, lat_max;
static int lat_n;

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(failmsg, sizeof(failmsg), fmt, ap);
	va_end(ap);
	return FAIL;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

struct child {
	pid_t pid;
	int in, out;   /* its stdin (we write), its stdout (we read) */
};

/* Reads one line from fd within ms; returns its length or -1. */
static int read_line(int fd, char *buf, size_t size, int ms)
{
	size_t n = 0;
	double end = now_ms() + ms;

	while (n + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		int left = (int)(end - now_ms());
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		if (read(fd, buf + n, 1) != 1)
			break;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n ? (int)n : -1;
}

static int spawn(struct child *c, const char *bin, const char *mode, const char *arg)
{
	int in[2], out[2];
	char line[64];

	if (pipe(in) || pipe(out))
		return -1;
	c->pid = fork();
	if (c->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execl(bin, bin, mode, arg, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
	if (read_line(c->out, line, sizeof(line), 5000) < 0 || strcmp(line, "ready\n") != 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		return -1;
	}
	return 0;
}

/* Ends the child (SIGTERM unless it exits by itself), returns its output. */
static int finish(struct child *c, int term, char *out, size_t size, int *status)
{
	size_t n = 0;
	double end = now_ms() + 10000;

	if (term)
		kill(c->pid, SIGTERM);
	close(c->in);
	while (n + 1 < size) {
		struct pollfd p = { c->out, POLLIN, 0 };
		int left = (int)(end - now_ms());
		ssize_t r;
		if (left <= 0 || poll(&p, 1, left) <= 0)
			break;
		r = read(c->out, out + n, size - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(c->out);
	if (now_ms() > end)
		kill(c->pid, SIGKILL);
	return waitpid(c->pid, status, 0) == c->pid ? 0 : -1;
}

static void kill_child(struct child *c)
{
	kill(c->pid, SIGCONT);
	kill(c->pid, SIGKILL);
	close(c->in);
	close(c->out);
	waitpid(c->pid, NULL, 0);
}

/* Waits until thread tid of pid is blocked in syscall nr. */
static int wait_in_syscall(pid_t pid, pid_t tid, long nr, int ms)
{
	char path[96], buf[256];
	double end = now_ms() + ms;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	while (now_ms() < end) {
		FILE *f = fopen(path, "r");
		long got = -2;
		if (f) {
			char *end = buf;
			/* "running" (not in a syscall) is no number, and strtol's 0
			 * for it is read's: the case then ran before the target blocked */
			if (fgets(buf, sizeof(buf), f))
				got = strtol(buf, &end, 10);
			if (end == buf)
				got = -2;
			fclose(f);
		}
		if (got == nr)
			return 0;
		sleep_ms(2);
	}
	return -1;
}

static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p ? p[2] : '?';
}

static int count_entries(pid_t pid, const char *what)
{
	char path[64];
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if (!strcmp(what, "maps")) {
		FILE *f = fopen(path, "r");
		int c;
		if (!f)
			return -1;
		while ((c = fgetc(f)) != EOF)
			n += c == '\n';
		fclose(f);
	} else {
		DIR *d = opendir(path);
		struct dirent *de;
		if (!d)
			return -1;
		while ((de = readdir(d)))
			n += de->d_name[0] != '.';
		closedir(d);
	}
	return n;
}

/* One injection of the test library; checks the entry's result. */
static int inject(pid_t pid, const char *arg, long want, struct ma_inj_stats *st)
{
	struct ma_inj_error err;
	struct ma_inj_stats s;
	long res = 0;
	int rc = ma_inject_library_stats(pid, lib, "test_entry", arg, &res, &s, &err);

	if (st)
		*st = s;
	if (rc)
		return fail("inject: %s (code %d)", err.msg, rc);
	if (want && res != want)
		return fail("entry returned %ld, want %ld", res, want);
	lat_sum += s.total_ms;
	lat_n++;
	if (s.total_ms > lat_max)
		lat_max = s.total_ms;
	return PASS;
}

static int file_is(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

/* ---- cases ---- */

static int t_symbols(void)
{
	struct ma_inj_error err;
	struct ma_inj_syms s;
	unsigned long a;

	if (ma_inj_lookup(getpid(), "libc.so", "getpid", &a, &err))
		return fail("lookup getpid: %s", err.msg);
	if (a != (unsigned long)dlsym(RTLD_DEFAULT, "getpid"))
		return fail("getpid at %#lx, dlsym says %p", a, dlsym(RTLD_DEFAULT, "getpid"));
	if (ma_inj_resolve_loader(getpid(), &s, &err))
		return fail("resolve loader: %s", err.msg);
	if (s.dlopen != (unsigned long)dlsym(RTLD_DEFAULT, "dlopen") ||
	    s.dlsym != (unsigned long)dlsym(RTLD_DEFAULT, "dlsym") ||
	    s.dlerror != (unsigned long)dlsym(RTLD_DEFAULT, "dlerror") || s.dlopen_flag)
		return fail("dlopen/dlsym/dlerror addresses differ from dlsym's");
	if (ma_inj_lookup(getpid(), "libc.so", "no_such_symbol_xyz", &a, &err) != MA_INJ_ERR_SYMBOL)
		return fail("missing symbol not reported");
	return PASS;
}

static int expect_err(pid_t pid, int code, int exit_code, const char *what)
{
	struct ma_inj_error err;
	int rc = ma_inj_check_target(pid, &err);

	if (rc != code || err.code != code)
		return fail("%s: got code %d (%s), want %d", what, rc, rc ? err.msg : "ok", code);
	if (ma_inject_exit_code(&err) != exit_code)
		return fail("%s: exit code %d, want %d", what, ma_inject_exit_code(&err), exit_code);
	if (!err.msg[0] || strchr(err.msg, '\n'))
		return fail("%s: message is not one line", what);
	printf("  %s: %s\n", what, err.msg);
	return PASS;
}

static void *idle_thread(void *p)
{
	(void)p;
	pause();
	return NULL;
}

static int t_errors(void)
{
	struct child c;
	pthread_t th;
	pid_t z, pid_max = 4194304;
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	int rc;

	if (f) {
		if (fscanf(f, "%d", &pid_max) != 1)
			pid_max = 32768;
		fclose(f);
	}
	for (z = pid_max - 1; z > 300; z--)  /* a pid nobody has */
		if (kill(z, 0) == -1 && errno == ESRCH)
			break;
	if ((rc = expect_err(z, MA_INJ_ERR_NO_PROCESS, MA_EXIT_NO_PROCESS, "nonexistent pid")))
		return rc;
	if ((rc = expect_err(-5, MA_INJ_ERR_NO_PROCESS, MA_EXIT_NO_PROCESS, "negative pid")))
		return rc;
	if ((rc = expect_err(getpid(), MA_INJ_ERR_SELF, MA_EXIT_SELF, "own pid")))
		return rc;
	pthread_create(&th, NULL, idle_thread, NULL);
	sleep_ms(20);
	{
		pid_t tids[8];
		int n = 0;
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;
		while (d && (de = readdir(d)) && n < 8)
			if (atoi(de->d_name) > 0 && atoi(de->d_name) != getpid())
				tids[n++] = atoi(de->d_name);
		if (d)
			closedir(d);
		if (n < 1)
			return fail("no thread of our own found");
		if ((rc = expect_err(tids[0], MA_INJ_ERR_SELF, MA_EXIT_SELF, "own thread")))
			return rc;
	}
	z = fork();
	if (z == 0)
		_exit(0);
	/* a zombie once it ran (50 ms was too short at load 50) */
	for (int i = 0; i < 1000 && proc_state(z) != 'Z'; i++)
		sleep_ms(5);
	rc = expect_err(z, MA_INJ_ERR_ZOMBIE, MA_EXIT_ZOMBIE, "zombie");
	waitpid(z, NULL, 0);
	if (rc)
		return rc;
	if (spawn(&c, static_bin, "", NULL))
		return fail("cannot start %s", static_bin);
	rc = expect_err(c.pid, MA_INJ_ERR_STATIC, MA_EXIT_STATIC, "static binary");
	kill_child(&c);
	if (rc)
		return rc;
	if (proc_state(2) != '?' && access("/proc/2/exe", F_OK) != 0) {
		char buf[64] = "";
		FILE *k = fopen("/proc/2/comm", "r");
		if (k) {
			if (!fgets(buf, sizeof(buf), k))
				buf[0] = 0;
			fclose(k);
		}
		if (!strncmp(buf, "kthreadd", 8) &&
		    (rc = expect_err(2, MA_INJ_ERR_KERNEL_THREAD, MA_EXIT_KERNEL_THREAD, "kernel thread")))
			return rc;
	} else {
		printf("  kernel thread: skipped (pid 2 is not a kernel thread here)\n");
	}
	/* A library the target cannot see. */
	if (spawn(&c, target_bin, "pause", NULL))
		return fail("cannot start target");
	{
		struct ma_inj_error err;
		rc = ma_inject_library(c.pid, "/nonexistent/lib.so", "x", NULL, NULL, &err);
		if (rc != MA_INJ_ERR_NO_LIBRARY || ma_inject_exit_code(&err) != MA_EXIT_NO_AGENT) {
			kill_child(&c);
			return fail("missing library: code %d (%s)", rc, err.msg);
		}
		printf("  missing library: %s\n", err.msg);
		/* Not an ELF: dlopen fails in the target and says why. */
		rc = ma_inject_library(c.pid, "/etc/passwd", "x", NULL, NULL, &err);
		if (rc != MA_INJ_ERR_DLOPEN || !strstr(err.msg, "/etc/passwd") ||
		    !strstr(err.msg, "ELF")) {
			kill_child(&c);
			return fail("bad library: code %d (%s)", rc, err.msg);
		}
		printf("  dlopen failure: %s\n", err.msg);
		rc = ma_inject_library(c.pid, lib, "no_such_entry", NULL, NULL, &err);
		if (rc != MA_INJ_ERR_SYMBOL) {
			kill_child(&c);
			return fail("missing entry: code %d (%s)", rc, err.msg);
		}
		printf("  missing entry: %s\n", err.msg);
	}
	/* Another user's view: as uid 65534 a root process is off limits. */
	if (geteuid() != 0) {
		printf("  other user: skipped (not root)\n");
	} else {
		pid_t u = fork();
		int st;
		if (u == 0) {
			struct ma_inj_error err;
			if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
			    setresuid(65534, 65534, 65534))
				_exit(3);
			if (ma_inj_check_target(c.pid, &err) != MA_INJ_ERR_NOT_PERMITTED ||
			    ma_inject_exit_code(&err) != MA_EXIT_NOT_PERMITTED)
				_exit(1);
			printf("  other user: %s\n", err.msg);
			fflush(stdout);
			_exit(0);
		}
		waitpid(u, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			kill_child(&c);
			return fail("other user: child status %d", st);
		}
	}
	{
		char out[256];
		int st;
		finish(&c, 1, out, sizeof(out), &st);
		if (strcmp(out, "usr1=0 rt=0\n") || !WIFEXITED(st) || WEXITSTATUS(st))
			return fail("target after failed injections: '%s' status %d", out, st);
	}
	return PASS;
}

static int t_read(void)
{
	struct child c;
	char out[512], file[PATH_MAX + 32], arg[PATH_MAX + 64];
	int st, rc;

	snprintf(file, sizeof(file), "%s/inj_read.out", dir);
	unlink(file);
	snprintf(arg, sizeof(arg), "%s|read target says hi", file);
	if (spawn(&c, target_bin, "read", NULL))
		return fail("cannot start target");
	if (wait_in_syscall(c.pid, c.pid, SYS_read, 3000)) {
		kill_child(&c);
		return fail("target not blocked in read");
	}
	if (ma_inj_library_loaded(c.pid, lib) != 0) {
		kill_child(&c);
		return fail("library reported loaded before injection");
	}
	if ((rc = inject(c.pid, arg, 1001, NULL))) {
		kill_child(&c);
		return rc;
	}
	if (ma_inj_library_loaded(c.pid, lib) != 1) {
		kill_child(&c);
		return fail("library not reported loaded after injection");
	}
	if (!file_is(file, "read target says hi")) {
		kill_child(&c);
		return fail("entry did not write its file");
	}
	unlink(file);
	/* still blocked in the same read */
	if (wait_in_syscall(c.pid, c.pid, SYS_read, 1000)) {
		kill_child(&c);
		return fail("target no longer in read after injection");
	}
	if (write(c.in, "hello, pipe\n", 12) != 12) {
		finish(&c, 0, out, sizeof(out), &st);
		return fail("target gone before the write: '%s' status %#x", out, st);
	}
	finish(&c, 0, out, sizeof(out), &st);
	if (strcmp(out, "read=12 data=hello, pipe\n") != 0)
		return fail("target printed '%s'", out);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? PASS : fail("status %d", st);
}

static int t_sleep(void)
{
	struct child c;
	char out[512];
	long rcv = -1, e = -1, ms = -1;
	int st, rc;

	if (spawn(&c, target_bin, "sleep", "2000"))
		return fail("cannot start target");
	if (wait_in_syscall(c.pid, c.pid, SYS_clock_nanosleep, 3000) &&
	    wait_in_syscall(c.pid, c.pid, SYS_nanosleep, 100)) {
		kill_child(&c);
		return fail("target not in nanosleep");
	}
	sleep_ms(300);
	if ((rc = inject(c.pid, NULL, 1001, NULL))) {
		kill_child(&c);
		return rc;
	}
	finish(&c, 0, out, sizeof(out), &st);
	if (sscanf(out, "rc=%ld errno=%ld elapsed_ms=%ld", &rcv, &e, &ms) != 3)
		return fail("target printed '%s'", out);
	if (rcv != 0 || e != 0)
		return fail("nanosleep returned %ld errno %ld", rcv, e);
	if (ms < 2000 || ms > 2600)
		return fail("slept %ld ms, want 2000..2600", ms);
	printf("  slept %ld ms\n", ms);
	return PASS;
}

static int t_epoll(void)
{
	struct child c;
	char out[512];
	int st, rc;

	if (spawn(&c, target_bin, "epoll", NULL))
		return fail("cannot start target");
	if (wait_in_syscall(c.pid, c.pid, SYS_epoll_wait, 3000) &&
	    wait_in_syscall(c.pid, c.pid, SYS_epoll_pwait, 100)) {
		kill_child(&c);
		return fail("target not in epoll_wait");
	}
	if ((rc = inject(c.pid, NULL, 1001, NULL))) {
		kill_child(&c);
		return rc;
	}
	sleep_ms(100);
	if (write(c.in, "E", 1) != 1) {
		finish(&c, 0, out, sizeof(out), &st);
		return fail("target gone before the write: '%s' status %#x", out, st);
	}
	finish(&c, 0, out, sizeof(out), &st);
	if (strcmp(out, "n=1 errno=0 byte=E\n") != 0)
		return fail("target printed '%s'", out);
	return PASS;
}

static int t_cond(void)
{
	struct child c;
	char out[512];
	int st, rc;

	if (spawn(&c, target_bin, "cond", NULL))
		return fail("cannot start target");
	if (wait_in_syscall(c.pid, c.pid, SYS_futex, 3000)) {
		kill_child(&c);
		return fail("target not in futex");
	}
	if ((rc = inject(c.pid, NULL, 1001, NULL))) {
		kill_child(&c);
		return rc;
	}
	sleep_ms(100);
	if (write(c.in, "C", 1) != 1) {
		finish(&c, 0, out, sizeof(out), &st);
		return fail("target gone before the write: '%s' status %#x", out, st);
	}
	finish(&c, 0, out, sizeof(out), &st);
	if (strcmp(out, "rc=0 loops=1\n") != 0)
		return fail("target printed '%s'", out);
	return PASS;
}

static int t_malloc(void)
{
	struct child c;
	struct ma_inj_stats s;
	char out[512];
	int st, rc, i, attempts = 0, maxatt = 0;

	if (spawn(&c, target_bin, "malloc", "4"))
		return fail("cannot start target");
	sleep_ms(100);
	for (i = 0; i < 20; i++) {
		if ((rc = inject(c.pid, NULL, 1001 + i, &s))) {
			kill_child(&c);
			return rc;
		}
		attempts += s.attempts;
		if (s.attempts > maxatt)
			maxatt = s.attempts;
		sleep_ms(10);
	}
	finish(&c, 1, out, sizeof(out), &st);
	if (strcmp(out, "ok ops>0=1\n") != 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("target printed '%s', status %d", out, st);
	printf("  20 injections, %d safe-point looks (max %d for one)\n", attempts, maxatt);
	if (attempts == 20)
		printf("  note: every first look was safe\n");
	return PASS;
}

static int t_stopped(void)
{
	struct child c;
	char out[512], file[PATH_MAX + 32], arg[PATH_MAX + 64];
	int st, rc;

	snprintf(file, sizeof(file), "%s/inj_stopped.out", dir);
	unlink(file);
	snprintf(arg, sizeof(arg), "%s|stopped", file);
	if (spawn(&c, target_bin, "pause", NULL))
		return fail("cannot start target");
	kill(c.pid, SIGSTOP);
	for (int i = 0; i < 100 && proc_state(c.pid) != 'T'; i++)
		sleep_ms(5);
	if (proc_state(c.pid) != 'T') {
		kill_child(&c);
		return fail("target did not stop");
	}
	if ((rc = inject(c.pid, arg, 1001, NULL))) {
		kill_child(&c);
		return rc;
	}
	sleep_ms(200);
	if (proc_state(c.pid) != 'T') {
		kill_child(&c);
		return fail("target state '%c' after injection, want T", proc_state(c.pid));
	}
	if (!file_is(file, "stopped")) {
		kill_child(&c);
		return fail("entry did not run");
	}
	unlink(file);
	/* twice: the second finds the library loaded */
	if ((rc = inject(c.pid, NULL, 1002, NULL))) {
		kill_child(&c);
		return rc;
	}
	sleep_ms(50);
	if (proc_state(c.pid) != 'T') {
		kill_child(&c);
		return fail("target running after 2nd injection");
	}
	kill(c.pid, SIGCONT);
	sleep_ms(50);
	kill(c.pid, SIGUSR1);
	sleep_ms(50);
	finish(&c, 1, out, sizeof(out), &st);
	if (strcmp(out, "usr1=1 rt=0\n") != 0)
		return fail("target printed '%s'", out);
	return PASS;
}

static int t_regs(void)
{
	struct child c;
	char out[512];
	int st, rc, i;

	if (spawn(&c, target_bin, "regs", NULL))
		return fail("cannot start target");
	for (i = 0; i < 30; i++) {
		if ((rc = inject(c.pid, NULL, 1001 + i, NULL))) {
			kill_child(&c);
			return rc;
		}
		sleep_ms(7);
	}
	sleep_ms(100);
	finish(&c, 1, out, sizeof(out), &st);
	if (strcmp(out, "ok rounds>0=1 usr1=0\n") != 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return fail("target printed '%s', status %d", out, st);
	return PASS;
}

/* 1 when pc lies in the text of pid's executable (inj_target). */
static int in_exe(pid_t pid, unsigned long long pc)
{
	char path[64], line[512];
	unsigned long lo, hi;
	FILE *f;
	int in = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "/inj_target") && strstr(line, " r-xp ") &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2 && pc >= lo && pc < hi)
			in = 1;
	fclose(f);
	return in;
}

/* Low-level API: the ABI of the call, signals arriving while seized. */
static int t_lowlevel(void)
{
	struct child c;
	struct ma_inj_error err;
	struct ma_inj *inj;
	struct user_regs_struct before;
	unsigned long fn, ret, data, args[6] = { 0 };
	unsigned char stack0[512], stack1[512];
	unsigned long stack_lo;
	char out[256], back[64], mem[64];
	int st, rc, memfd = -1, tries;

	if (spawn(&c, target_bin, "regs", NULL))
		return fail("cannot start target");
	snprintf(mem, sizeof(mem), "/proc/%d/mem", (int)c.pid);
	memfd = open(mem, O_RDONLY);
	if ((rc = inject(c.pid, NULL, 1001, NULL)))
		goto out;
	if ((rc = ma_inj_lookup(c.pid, "libinjtest", "test_sp_on_entry", &fn, &err))) {
		rc = fail("lookup test_sp_on_entry: %s", err.msg);
		goto out;
	}
	if (ma_inj_seize(c.pid, 0, &inj, &err)) {
		rc = fail("seize: %s", err.msg);
		goto out;
	}
	/* wait for the busy loop proper: only then is nothing but us using
	 * the stack below its sp */
	for (tries = 0;; tries++) {
		ptrace(PTRACE_GETREGS, ma_inj_tid(inj), 0, &before);
		if (in_exe(c.pid, before.rip))
			break;
		ma_inj_release(inj);
		if (tries == 100) {
			rc = fail("target never seen in its busy loop");
			goto out;
		}
		sleep_ms(5);
		if (ma_inj_seize(c.pid, 0, &inj, &err)) {
			rc = fail("seize: %s", err.msg);
			goto out;
		}
	}
	/* the stack below the red zone that our data and frame will use */
	stack_lo = before.rsp - 128 - sizeof(stack0);
	if (pread(memfd, stack0, sizeof(stack0), (off_t)stack_lo) != (ssize_t)sizeof(stack0)) {
		ma_inj_release(inj);
		rc = fail("cannot read the target's stack");
		goto out;
	}
	data = ma_inj_push_string(inj, "stack data", &err);
	rc = ma_inj_call(inj, fn, args, 6, &ret, 0, &err);
	if (!rc && ma_inj_read_string(inj, data, back, sizeof(back)))
		back[0] = 0;
	if (!rc) {
		rc = ma_inj_call(inj, fn, args, 0, &ret, 0, &err);
	}
	if (rc) {
		ma_inj_release(inj);
		rc = fail("call: %s", err.msg);
		goto out;
	}
	ma_inj_release(inj);
	/* The busy loop makes no calls: nothing but us writes below its sp. */
	if (pread(memfd, stack1, sizeof(stack1), (off_t)stack_lo) != (ssize_t)sizeof(stack1) ||
	    memcmp(stack0, stack1, sizeof(stack0)) != 0) {
		size_t k, first = sizeof(stack0), ndiff = 0;
		for (k = 0; k < sizeof(stack0); k++)
			if (stack0[k] != stack1[k]) {
				ndiff++;
				if (first == sizeof(stack0))
					first = k;
			}
		rc = fail("stack bytes below the red zone not restored (%zu differ, first at sp-%lu)",
			  ndiff, (unsigned long)(before.rsp - stack_lo - first));
		goto out;
	}
	if (ret % 16 != 8) {
		rc = fail("sp on entry %#lx: %% 16 = %lu, want 8", ret, ret % 16);
		goto out;
	}
	if (ret + 8 > before.rsp - 128 || ret + 8 > data) {
		rc = fail("frame at %#lx overlaps the red zone (sp was %#llx, data %#lx)", ret,
			  before.rsp, data);
		goto out;
	}
	if (strcmp(back, "stack data")) {
		rc = fail("read back '%s'", back);
		goto out;
	}
	/* a signal sent while seized must be delivered after release */
	if (ma_inj_seize(c.pid, 0, &inj, &err)) {
		rc = fail("seize: %s", err.msg);
		goto out;
	}
	kill(c.pid, SIGUSR1);
	sleep_ms(5);
	rc = ma_inj_call(inj, fn, args, 0, &ret, 0, &err);
	ma_inj_release(inj);
	if (rc) {
		rc = fail("call: %s", err.msg);
		goto out;
	}
	rc = PASS;
	close(memfd);
	sleep_ms(50);
	finish(&c, 1, out, sizeof(out), &st);
	if (strcmp(out, "ok rounds>0=1 usr1=1\n") != 0)
		return fail("target printed '%s' (SIGUSR1 lost?)", out);
	printf("  sp on entry %% 16 == 8, frame below the red zone\n");
	return rc;
out:
	if (memfd >= 0)
		close(memfd);
	kill_child(&c);
	return rc;
}

struct sender {
	pid_t pid;
	volatile int stop;
	int sent;
};

static void *send_rt(void *p)
{
	struct sender *s = p;
	union sigval v = { 0 };

	while (!s->stop) {
		if (sigqueue(s->pid, SIGRTMIN, v) == 0)
			s->sent++;
		usleep(300);
	}
	return NULL;
}

/* Queued real-time signals keep arriving during 20 injections: the target
 * must receive every one (none swallowed by a stop, none left blocked). */
static int signals_case(const char *mode)
{
	struct child c;
	struct sender s = { 0, 0, 0 };
	pthread_t th;
	char out[256], want[64];
	int st, rc = PASS, i;

	if (spawn(&c, target_bin, mode, NULL))
		return fail("cannot start target");
	s.pid = c.pid;
	pthread_create(&th, NULL, send_rt, &s);
	sleep_ms(20);
	for (i = 0; i < 20 && rc == PASS; i++) {
		rc = inject(c.pid, NULL, 1001 + i, NULL);
		sleep_ms(3);
	}
	s.stop = 1;
	pthread_join(th, NULL);
	sleep_ms(100);
	finish(&c, 1, out, sizeof(out), &st);
	if (rc)
		return rc;
	snprintf(want, sizeof(want), "usr1=0 rt=%d\n", s.sent);
	if (strcmp(out, want) != 0)
		return fail("target printed '%s', want '%s'", out, want);
	printf("  %d signals sent during 20 injections, all delivered\n", s.sent);
	return PASS;
}

static int t_signals(void)
{
	return signals_case("pause");
}

/* The same inside sigsuspend: its temporary mask must not become the real one. */
static int t_sigsuspend(void)
{
	return signals_case("sigsuspend");
}

static int t_cycles(void)
{
	struct child c;
	char out[512];
	int st, rc, i, fds0, maps0, fds, maps;
	double t_first = 0, t_rest = 0, stop_rest = 0;

	if (spawn(&c, target_bin, "regs", NULL))
		return fail("cannot start target");
	for (i = 0; i < 50; i++) {
		struct ma_inj_stats s;
		if ((rc = inject(c.pid, NULL, 1001 + i, &s))) {
			kill_child(&c);
			return rc;
		}
		if (i == 0) {
			t_first = s.total_ms;
			fds0 = count_entries(c.pid, "fd");
			maps0 = count_entries(c.pid, "maps");
		} else {
			t_rest += s.total_ms;
			stop_rest += s.stopped_ms;
			if (!s.already_loaded) {
				kill_child(&c);
				return fail("cycle %d: library not seen as loaded", i);
			}
		}
	}
	fds = count_entries(c.pid, "fd");
	maps = count_entries(c.pid, "maps");
	finish(&c, 1, out, sizeof(out), &st);
	if (fds != fds0 || maps != maps0)
		return fail("fds %d -> %d, maps %d -> %d over 49 cycles", fds0, fds, maps0, maps);
	if (strcmp(out, "ok rounds>0=1 usr1=0\n") != 0)
		return fail("target printed '%s'", out);
	printf("  first injection %.2f ms, next 49 average %.2f ms (thread stopped %.2f ms); "
	       "fds %d, maps %d steady\n", t_first, t_rest / 49, stop_rest / 49, fds, maps);
	return PASS;
}

/* inj_target unsafe HOW, its main thread blocked in read() inside an
 * unsafe place: the injection must not run there.  want_ok: another
 * thread is free and must be the one used; else the error must name why. */
static int unsafe_case(const char *how, int want_ok, const char *why)
{
	struct child c;
	struct ma_inj_error err;
	struct ma_inj_stats s;
	char out[256];
	long res = 0;
	int st, rc;

	if (spawn(&c, target_bin, "unsafe", how))
		return fail("cannot start target");
	if (wait_in_syscall(c.pid, c.pid, SYS_read, 3000)) {
		kill_child(&c);
		return fail("target not blocked in read");
	}
	rc = ma_inject_library_stats(c.pid, lib, "test_entry", NULL, &res, &s, &err);
	if (want_ok && (rc || res != 1001 || s.tid == c.pid))
		rc = fail("unsafe %s: rc %d (%s), result %ld, thread %d (main %d)", how, rc,
			  rc ? err.msg : "", res, (int)s.tid, (int)c.pid);
	else if (!want_ok && (rc != MA_INJ_ERR_NO_SAFE_POINT || !strstr(err.msg, why)))
		rc = fail("unsafe %s: rc %d (%s), want no safe point in %s", how, rc,
			  rc ? err.msg : "injected", why);
	else
		rc = PASS;
	printf("  unsafe %s: %s\n", how, want_ok ? "another thread used" : err.msg);
	if (write(c.in, "x", 1) != 1 || finish(&c, 0, out, sizeof(out), &st) ||
	    strcmp(out, "done\n") != 0)
		return rc ? rc : fail("unsafe %s: target printed '%s' after the byte", how, out);
	return rc;
}

static int t_unsafe(void)
{
	int rc;

	if ((rc = unsafe_case("1", 0, "malloc_named_wait")) ||
	    (rc = unsafe_case("3", 0, "a signal handler")))
		return rc;
	return unsafe_case("2", 1, NULL);
}

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
	{ "symbols", t_symbols },
	{ "errors", t_errors },
	{ "read", t_read },
	{ "sleep", t_sleep },
	{ "epoll", t_epoll },
	{ "cond", t_cond },
	{ "malloc", t_malloc },
	{ "stopped", t_stopped },
	{ "regs", t_regs },
	{ "lowlevel", t_lowlevel },
	{ "signals", t_signals },
	{ "sigsuspend", t_sigsuspend },
	{ "cycles", t_cycles },
	{ "unsafe", t_unsafe },
};

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int failed = 0, ran = 0, skipped = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);   /* a target that died shows as a failed write */
	if (n <= 0)
		return 99;
	self[n] = '\0';
	snprintf(dir, sizeof(dir), "%s", self);
	*strrchr(dir, '/') = '\0';
	/* libtool may have put us in .libs */
	if (strlen(dir) > 6 && !strcmp(dir + strlen(dir) - 6, "/.libs"))
		dir[strlen(dir) - 6] = '\0';
	snprintf(target_bin, sizeof(target_bin), "%s/inj_target", dir);
	snprintf(static_bin, sizeof(static_bin), "%s/inj_static", dir);
	snprintf(lib, sizeof(lib), "%s/.libs/libinjtest.so", dir);
	if (access(lib, R_OK) || access(target_bin, X_OK)) {
		printf("SKIP: test programs not built (%s)\n", lib);
		return SKIP;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int j, want = argc < 2, rc;
		double t0;

		for (j = 1; j < argc; j++)
			want |= !strcmp(argv[j], cases[i].name);
		if (!want)
			continue;
		failmsg[0] = '\0';
		t0 = now_ms();
		rc = cases[i].fn();
		ran++;
		if (rc == PASS)
			printf("PASS: %s (%.0f ms)\n", cases[i].name, now_ms() - t0);
		else if (rc == SKIP)
			printf("SKIP: %s %s\n", cases[i].name, failmsg), skipped++;
		else
			printf("FAIL: %s: %s\n", cases[i].name, failmsg), failed++;
	}
	if (lat_n)
		printf("injection latency: %d injections, average %.2f ms, max %.2f ms\n", lat_n,
		       lat_sum / lat_n, lat_max);
	if (failed)
		return 1;
	return ran && skipped == ran ? SKIP : 0;
}

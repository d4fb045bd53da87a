/* shellout.c — an attached master that runs commands through a shell:
 * system() and popen()+pclose(), which glibc starts with the process's
 * environ from inside libc (issue 14: --pid P --follow-fork follows them).
 *
 *   shellout --wait-signal DIR [--setenv-thread]   the master: after the
 *     first SIGUSR1 it runs `shellout --child DIR 5` twice by system() and
 *     `shellout --child DIR 6` twice by popen() (reading the child's line),
 *     checks each status (5 << 8, 6 << 8), and checks its environ after
 *     against a copy taken before: the same array, entry for entry
 *     (pointers), no LD_PRELOAD or memattach configuration of the agent's
 *     (a LD_PRELOAD of the program's own is kept, the very string).
 *     Prints "environ before <ptr> after <ptr>" and "done ok" (or
 *     "FAIL: ..." lines and "done bad"), then waits for the second SIGUSR1.
 *     Its own capture is not compared (stdio, setenv).
 *     --setenv-thread: while each system() child runs (it waits for the
 *     thread: the spawn's reading of environ is over, glibc's setenv racing
 *     it is the program's own race), a second thread changes environ: the
 *     first time SO_VAR_0..7 in place (set before), the second time it
 *     unsets SO_TOGGLE and sets SO_NEW_0..7 (glibc's new array).  After,
 *     each must hold the thread's value, every other entry from before
 *     must be there, and ours must be gone.
 *   shellout --wait-signal DIR --cancel   a thread cancelled in system()
 *     while its child waits: "done cancelled"; after the second SIGUSR1
 *     (the session over) its environ must be the array of before, entry
 *     for entry, and system("true") must run: "after the session ok".
 *   shellout --wait-signal DIR --fork   the main thread forks while a
 *     thread's system() child runs; after the second SIGUSR1 the forked
 *     process must have no entry of ours and run system("true"): "after
 *     the session ok".
 *   shellout DIR: the same at once, for run --follow-fork (whose environ
 *     has our entries from the start: the hooks must leave it alone).
 *   shellout --child DIR CODE [--sync AFD BFD]   keeps 3 blocks of 1234
 *     bytes (child_keep), churns, writes its truth to DIR/truth.<pid>,
 *     prints "child <pid>" and exits CODE.  Counted from its start (it is
 *     followed from its exec).  --sync: first a byte to AFD, one from BFD
 *     (none: exit 3 at once). */
#include <pthread.h>
#include "keep.h"

T_DEFINE_TRUTH;

extern char **environ;

__attribute__((noinline)) static void child_keep(void)
{
	for (int i = 0; i < 3; i++)
		(void)t_counted_malloc(1234);
}

static int child_main(const char *dir, int code, int afd, int bfd)
{
	char line[64], b = 1;
	if (afd >= 0 && write(afd, &b, 1) != 1)
		t_die("sync");
	if (bfd >= 0 && read(bfd, &b, 1) != 1)
		_exit(3);   /* --cancel: its system() was cancelled, its shell killed */
	child_keep();
	t_churn(50, 100, 400);
	int n = snprintf(line, sizeof line, "child %ld\n", (long)getpid());
	t_write(line, (size_t)n);
	t_end_in_dir(dir, "");
	return code;
}

static int bad;

static void fail(const char *what)
{
	char line[512];
	int n = snprintf(line, sizeof line, "FAIL: %s\n", what);
	t_write(line, (size_t)n);
	bad = 1;
}

static int sync_a[2] = {-1, -1}, sync_b[2] = {-1, -1};

/* The two pipes; only the child's ends are inherited (its read gets EOF
 * once the master closes its end). */
static void sync_pipes(void)
{
	if (pipe2(sync_a, O_CLOEXEC) || pipe2(sync_b, O_CLOEXEC) || fcntl(sync_a[1], F_SETFD, 0) ||
	    fcntl(sync_b[0], F_SETFD, 0))
		t_die("pipe");
}

static void set_all(const char *prefix, const char *value)
{
	char name[32];
	for (int k = 0; k < 8; k++) {
		snprintf(name, sizeof name, "%s%d", prefix, k);
		if (setenv(name, value, 1))
			t_die("setenv");
	}
}

/* One burst per system() child, while it waits. */
static void *setenv_bursts(void *arg)
{
	char b;
	(void)arg;
	for (int burst = 0; burst < 2; burst++) {
		if (read(sync_a[0], &b, 1) != 1)
			t_die("read");
		if (burst == 0) {
			set_all("SO_VAR_", "burst0");   /* in place */
		} else {
			unsetenv("SO_TOGGLE");
			set_all("SO_NEW_", "burst1");   /* new names */
		}
		if (write(sync_b[1], &b, 1) != 1)
			t_die("write");
	}
	return NULL;
}

/* environ's entries, copied (the array, not the strings: pointers compared) */
static char **snapshot(size_t *n)
{
	size_t k = 0;
	while (environ[k])
		k++;
	char **copy = calloc(k + 1, sizeof(char *));
	if (!copy)
		t_die("calloc");
	memcpy(copy, environ, k * sizeof(char *));
	*n = k;
	return copy;
}

static int in_environ(const char *entry)
{
	for (char **e = environ; *e; e++)
		if (!strcmp(*e, entry))
			return 1;
	return 0;
}

/* run --follow-fork: environ had our entries from the start */
static int was_there(char **before, size_t n, const char *entry)
{
	for (size_t i = 0; i < n; i++)
		if (before[i] == entry)
			return 1;
	return 0;
}

static void check_value(const char *prefix, const char *want)
{
	char name[32];
	for (int k = 0; k < 8; k++) {
		snprintf(name, sizeof name, "%s%d", prefix, k);
		const char *got = getenv(name);
		if (!got || strcmp(got, want))
			fail(name);
	}
}

static void check_environ(char **before, size_t n, int threaded)
{
	size_t k = 0;
	for (char **e = environ; *e; e++, k++)
		if (((!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "memattach")) ||
		     !strncmp(*e, "MEMATTACH_AGENT_CONFIG=", 23)) && !was_there(before, n, *e))
			fail(*e);
	for (size_t i = 0; i < n; i++)
		if (!(threaded ? !strncmp(before[i], "SO_", 3) || in_environ(before[i])
			       : i < k && environ[i] == before[i]))
			fail(before[i]);
	if (!threaded && k != n)
		fail("environ has another number of entries");
	if (threaded) {
		check_value("SO_VAR_", "burst0");
		check_value("SO_NEW_", "burst1");
		if (getenv("SO_TOGGLE"))
			fail("SO_TOGGLE is still set");
	}
}

static void run_children(const char *self, const char *dir)
{
	char cmd[4096], line[64], msg[4200], sync[64] = "";
	if (sync_a[0] >= 0)
		snprintf(sync, sizeof sync, " --sync %d %d", sync_a[1], sync_b[0]);
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd, "%s --child %s 5%s", self, dir, sync);
		int st = system(cmd);
		if (st != 5 << 8)
			snprintf(msg, sizeof msg, "system status %d, want %d", st, 5 << 8), fail(msg);
		snprintf(cmd, sizeof cmd, "%s --child %s 6", self, dir);
		FILE *f = popen(cmd, "r");
		if (!f)
			t_die("popen");
		if (!fgets(line, sizeof line, f) || strncmp(line, "child ", 6))
			fail("no line from the popen child");
		st = pclose(f);
		if (st != 6 << 8)
			snprintf(msg, sizeof msg, "pclose status %d, want %d", st, 6 << 8), fail(msg);
	}
}

static const char *cancel_cmd;

static void *system_thread(void *arg)
{
	(void)arg;
	system(cancel_cmd);
	fail("system() returned in a cancelled thread");
	return NULL;
}

/* --cancel: a thread cancelled in system() while its child runs; our
 * entries go with the session's end (then a shell runs without a word from
 * the loader on stderr: the agent's file is gone). */
static int cancel_main(const char *self, const char *dir)
{
	char cmd[4096], b, line[128];
	pthread_t t;
	void *res;
	size_t n;
	t_begin();
	char **env_before = environ, **before = snapshot(&n);
	sync_pipes();
	snprintf(cmd, sizeof cmd, "%s --child %s 5 --sync %d %d", self, dir, sync_a[1], sync_b[0]);
	cancel_cmd = cmd;
	if (pthread_create(&t, NULL, system_thread, NULL))
		t_die("pthread_create");
	if (read(sync_a[0], &b, 1) != 1)
		t_die("read");
	pthread_cancel(t);
	pthread_join(t, &res);
	close(sync_b[1]);   /* the child's read ends */
	if (res != PTHREAD_CANCELED)
		fail("not cancelled");
	t_write("done cancelled\n", 15);
	t_wait_usr1();   /* the session has ended */
	check_environ(before, n, 0);
	if (system("true") != 0)
		fail("system(true) after the session");
	int len = snprintf(line, sizeof line, "environ before %p after %p\nafter the session %s\n",
			   (void *)env_before, (void *)environ, bad ? "bad" : "ok");
	t_write(line, (size_t)len);
	return bad;
}

/* --fork: the process forked by another thread while system()'s child
 * runs (our entries in its parent's environ) must be without them once the
 * session is over: exit 0, or 1. */
static void forked_after_session(int cfd)
{
	char b;
	if (read(cfd, &b, 1) != 1)
		_exit(2);
	for (char **e = environ; *e; e++)
		if (!strncmp(*e, "MEMATTACH_AGENT_CONFIG=", 23) || (!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "memattach")))
			fail(*e);
	if (system("true") != 0)
		fail("system(true) in the forked child");
	_exit(bad);
}

static void *system_sync_thread(void *arg)
{
	int st = system(arg);
	if (st != 5 << 8)
		fail("system status");
	return NULL;
}

static int fork_main(const char *self, const char *dir)
{
	char cmd[4096], b = 1, line[64];
	int c[2], st;
	pthread_t t;
	t_begin();
	sync_pipes();
	if (pipe2(c, O_CLOEXEC))
		t_die("pipe");
	snprintf(cmd, sizeof cmd, "%s --child %s 5 --sync %d %d", self, dir, sync_a[1], sync_b[0]);
	if (pthread_create(&t, NULL, system_sync_thread, cmd))
		t_die("pthread_create");
	if (read(sync_a[0], &b, 1) != 1)
		t_die("read");
	pid_t f = fork();
	if (f < 0)
		t_die("fork");
	if (f == 0)
		forked_after_session(c[0]);
	if (write(sync_b[1], &b, 1) != 1)
		t_die("write");
	pthread_join(t, NULL);
	t_write("done forked\n", 12);
	t_wait_usr1();   /* the session has ended */
	if (write(c[1], &b, 1) != 1 || waitpid(f, &st, 0) != f)
		t_die("the forked child");
	if (st != 0)
		fail("the forked child kept our entries");
	int len = snprintf(line, sizeof line, "after the session %s\n", bad ? "bad" : "ok");
	t_write(line, (size_t)len);
	return bad;
}

static int master_main(const char *self, const char *dir, int threaded)
{
	pthread_t t;
	char line[128];
	size_t n;
	t_begin();
	if (threaded) {
		set_all("SO_VAR_", "before");
		if (setenv("SO_TOGGLE", "before", 1))
			t_die("setenv");
		sync_pipes();
		if (pthread_create(&t, NULL, setenv_bursts, NULL))
			t_die("pthread_create");
	}
	char **env_before = environ, **before = snapshot(&n);
	run_children(self, dir);
	if (threaded)
		pthread_join(t, NULL);
	check_environ(before, n, threaded);
	int len = snprintf(line, sizeof line, "environ before %p after %p\ndone %s\n", (void *)env_before,
			   (void *)environ, bad ? "bad" : "ok");
	t_write(line, (size_t)len);
	if (t_truth.wait_signal)
		t_wait_usr1();
	return bad;
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	if (i + 2 < argc && !strcmp(argv[i], "--child"))
		return child_main(argv[i + 1], atoi(argv[i + 2]),
				  i + 5 < argc ? atoi(argv[i + 4]) : -1, i + 5 < argc ? atoi(argv[i + 5]) : -1);
	if (i >= argc)
		t_die("usage: shellout [--wait-signal] DIR [--setenv-thread | --cancel | --fork] | --child DIR CODE [--sync AFD BFD]");
	if (i + 1 < argc && !strcmp(argv[i + 1], "--fork"))
		return fork_main(argv[0], argv[i]);
	if (i + 1 < argc && !strcmp(argv[i + 1], "--cancel"))
		return cancel_main(argv[0], argv[i]);
	return master_main(argv[0], argv[i], i + 1 < argc && !strcmp(argv[i + 1], "--setenv-thread"));
}

/* shellout.c — an attached master that runs commands through a shell:
 * system() and popen()+pclose(), which glibc starts with the process's
 * environ from inside libc (issue 14: --pid P --follow-fork follows them).
 *
 *   shellout --wait-signal DIR [--setenv-thread]   the master: after the
 *     first SIGUSR1 it runs `shellout --child DIR 5` twice by system() and
 *     `shellout --child DIR 6` twice by popen() (reading the child's line),
 *     checks each status (5 << 8, 6 << 8), and checks its environ after
 *     against a copy taken before: the same array contents, entry for
 *     entry (pointers too), no LD_PRELOAD or memattach configuration of
 *     the agent's (a LD_PRELOAD of the program's own is kept, the very
 *     string).  Prints "environ before <ptr> after <ptr>" and
 *     "done ok" (or "FAIL: ..." lines and "done bad"), then waits for the
 *     second SIGUSR1.  Its own capture is not compared (stdio, setenv).
 *     --setenv-thread: a second thread sets SO_VAR_0..7 (new names, then
 *     in place) and unsets/sets SO_TOGGLE in a loop during the calls; after,
 *     each must hold the thread's last value, every entry from before
 *     (but SO_TOGGLE's) must be there, and ours must be gone.
 *   shellout --child DIR CODE   keeps 3 blocks of 1234 bytes (child_keep),
 *     churns, writes its truth to DIR/truth.<pid>, prints "child <pid>" and
 *     exits CODE.  Counted from its start (it is followed from its exec). */
#include <pthread.h>
#include "keep.h"

T_DEFINE_TRUTH;

extern char **environ;

__attribute__((noinline)) static void child_keep(void)
{
	for (int i = 0; i < 3; i++)
		(void)t_counted_malloc(1234);
}

static int child_main(const char *dir, int code)
{
	char line[64];
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

static atomic_int stop;
static char last[8][32];
static int toggle_set;

static void *setenv_loop(void *arg)
{
	(void)arg;
	for (long i = 0; !atomic_load(&stop) || i < 64; i++) {
		char name[16];
		snprintf(name, sizeof name, "SO_VAR_%ld", i % 8);
		snprintf(last[i % 8], sizeof last[0], "v%ld", i);
		if (setenv(name, last[i % 8], 1))
			t_die("setenv");
		toggle_set = i % 3 == 0;
		if (toggle_set)
			setenv("SO_TOGGLE", "on", 1);
		else
			unsetenv("SO_TOGGLE");
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

static void check_environ(char **before, size_t n, int threaded)
{
	size_t k = 0;
	for (char **e = environ; *e; e++, k++)
		if ((!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "memattach")) ||
		    !strncmp(*e, "MEMATTACH_AGENT_CONFIG=", 23))
			fail(*e);
	for (size_t i = 0; i < n; i++)
		if (!(threaded ? in_environ(before[i]) || !strncmp(before[i], "SO_TOGGLE=", 10)
			       : i < k && environ[i] == before[i]))
			fail(before[i]);
	if (!threaded && k != n)
		fail("environ has another number of entries");
	for (int v = 0; threaded && v < 8; v++) {
		char name[16];
		snprintf(name, sizeof name, "SO_VAR_%d", v);
		const char *got = getenv(name);
		if (!got || strcmp(got, last[v]))
			fail(name);
	}
	if (threaded && !getenv("SO_TOGGLE") != !toggle_set)
		fail("SO_TOGGLE");
}

static void run_children(const char *self, const char *dir)
{
	char cmd[4096], line[64], msg[4200];
	for (int i = 0; i < 2; i++) {
		snprintf(cmd, sizeof cmd, "%s --child %s 5", self, dir);
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

static int master_main(const char *self, const char *dir, int threaded)
{
	pthread_t t;
	char line[128];
	size_t n;
	t_begin();
	char **env_before = environ, **before = snapshot(&n);
	if (threaded && pthread_create(&t, NULL, setenv_loop, NULL))
		t_die("pthread_create");
	run_children(self, dir);
	atomic_store(&stop, 1);
	if (threaded)
		pthread_join(t, NULL);
	check_environ(before, n, threaded);
	int len = snprintf(line, sizeof line, "environ before %p after %p\ndone %s\n", (void *)env_before,
			   (void *)environ, bad ? "bad" : "ok");
	t_write(line, (size_t)len);
	t_wait_usr1();
	return bad;
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	if (i + 2 < argc && !strcmp(argv[i], "--child"))
		return child_main(argv[i + 1], atoi(argv[i + 2]));
	if (i >= argc)
		t_die("usage: shellout --wait-signal DIR [--setenv-thread] | --child DIR CODE");
	return master_main(argv[0], argv[i], i + 1 < argc && !strcmp(argv[i + 1], "--setenv-thread"));
}

/* pidreuse.c — children of a tracked process that reuse one pid: run as
 * the first process of a new pid namespace's tree (unshare --pid), it
 * forks a child, lets it end, writes the child's pid - 1 to
 * /proc/sys/kernel/ns_last_pid and forks again: the second child gets the
 * same pid (checked: exit 77 when it does not).  Twice:
 *   1. the first child exits normally (its agent sends its trailer);
 *   2. the first child is killed (SIGKILL: no trailer), after a
 *      memattach_agent_sync that put every event of it on the socket.
 * Each child keeps a known number of bytes from a function of its own
 * (keep_a: 5 x 1000, keep_b: 7 x 3000) and writes its truth to
 * DIR/truth.<pid>.<n> (n = 1 for the first process with that pid, 2 for
 * the second).  pidreuse --truth-dir DIR [--hold-parent]
 *
 * --hold-parent: memattach (our parent) is stopped (SIGSTOP, seen stopped
 * in /proc) from before the first child's fork until the second child is
 * reaped, so that both connections wait in its queue and the first
 * child's is accepted only after its pid is the second child's: the race
 * memattach must get right, every time. */
#include <dlfcn.h>
#include "keep.h"

T_DEFINE_TRUTH;

static const char *truth_dir = ".";
static void *kept[16];

__attribute__((noinline)) static void keep_a(void)
{
	for (int i = 0; i < 5; i++)
		kept[i] = t_counted_malloc(1000);
}

__attribute__((noinline)) static void keep_b(void)
{
	for (int i = 0; i < 7; i++)
		kept[i] = t_counted_malloc(3000);
}

/* Every event so far on the agent's socket (the agent is loaded: run). */
static void agent_sync(void)
{
	int (*sync)(unsigned long long) = (int (*)(unsigned long long))dlsym(RTLD_DEFAULT, "memattach_agent_sync");
	if (!sync || sync(1) != 0)
		t_die("memattach_agent_sync");
}

/* A child: its work, its truth; killed: syncs, says so on fd, waits. */
static void child(void (*keep)(void), int n, int killed_fd)
{
	t_reset(&t_truth);
	char suffix[16];
	t_churn(100, 64, 100);
	keep();
	snprintf(suffix, sizeof suffix, ".%d", n);
	t_end_in_dir(truth_dir, suffix);
	if (killed_fd < 0)
		exit(0);   /* the agent's destructor sends its trailer */
	agent_sync();
	if (write(killed_fd, "s", 1) != 1)
		t_die("pipe");
	for (;;)
		pause();
}

static pid_t start(void (*keep)(void), int n, int killed_fd)
{
	pid_t pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0)
		child(keep, n, killed_fd);
	return pid;
}

static void reap(pid_t pid, int want_signal)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || (want_signal ? !WIFSIGNALED(st) : !WIFEXITED(st) || WEXITSTATUS(st)))
		t_die("child");
}

static int hold_parent;

/* Our parent stopped (stop) or running again; waits until /proc shows
 * it stopped (a signal to another process arrives later). */
static void hold(int stop)
{
	pid_t pp = getppid();
	if (!hold_parent)
		return;
	if (kill(pp, stop ? SIGSTOP : SIGCONT) < 0)
		t_die("kill parent");
	for (int i = 0; stop && i < 100000; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof path, "/proc/%ld/stat", (long)pp);
		FILE *f = fopen(path, "r");
		char *c = f && fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
		if (f)
			fclose(f);
		if (c && c[1] == ' ' && c[2] == 'T')
			return;
		usleep(100);
	}
	if (stop)
		t_die("parent not stopped");
}

/* The next fork gets pid. */
static void next_pid(pid_t pid)
{
	int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	char b[32];
	int len = snprintf(b, sizeof b, "%ld", (long)pid - 1);
	if (fd < 0 || write(fd, b, (size_t)len) != len)
		t_die("ns_last_pid");
	close(fd);
}

static void same_pid_twice(int kill_first)
{
	int p[2] = { -1, -1 };
	char c;
	if (kill_first && pipe(p) < 0)
		t_die("pipe");
	hold(1);
	pid_t a = start(keep_a, 1, p[1]);
	if (kill_first) {
		if (read(p[0], &c, 1) != 1)
			t_die("read");
		kill(a, SIGKILL);
		close(p[0]);
		close(p[1]);
	}
	reap(a, kill_first);
	next_pid(a);
	pid_t b = start(keep_b, 2, -1);
	reap(b, 0);
	hold(0);
	if (b != a) {
		fprintf(stderr, "pidreuse: the second child got pid %ld, not %ld\n", (long)b, (long)a);
		exit(77);
	}
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	for (; i < argc; i++)
		if (!strcmp(argv[i], "--truth-dir") && i + 1 < argc)
			truth_dir = argv[++i];
		else if (!strcmp(argv[i], "--hold-parent"))
			hold_parent = 1;
	same_pid_twice(0);
	same_pid_twice(1);
	return 0;
}

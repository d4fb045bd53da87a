/* fanout.c — many processes at once, each with its own exact truth: a
 * master forks N workers; each process churns E malloc/free pairs, keeps
 * blocks of its own from keep_mine (worker i: i % 7 + 1 blocks of
 * 100 * (i + 1) bytes; the master 3 of 50), and writes its truth to
 * DIR/truth.<pid>.
 *   fanout --workers N --churn E --truth-dir D
 *       run mode: the workers start at once and exit after their truth;
 *       the master waits for them, then writes its own and exits.
 *   fanout --wait-signal --workers N --churn E --truth-dir D
 *       attach mode (--pid-tree): the workers exist before "ready"; the
 *       first SIGUSR1 starts every process's workload (the master passes
 *       it on), each waits after its truth, keeping its blocks, until the
 *       second, then exits. */
#include <fcntl.h>
#include <sys/wait.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define MAX_WORKERS 256
static const char *truth_dir = ".";
static int nworkers = 4;
static long churn_n = 1000;
static pid_t workers[MAX_WORKERS];
static void *kept[8];

static void *counted(size_t n)
{
	void *p = malloc(n);
	if (!p)
		t_die("malloc");
	t_touch(p, n);
	t_alloc(&t_truth, T_MALLOC, n);
	return p;
}

static void churn(long rounds)
{
	for (long i = 0; i < rounds; i++) {
		size_t n = 32 + (size_t)(i % 61);
		void *p = counted(n);
		t_free(&t_truth, n);
		free(p);
	}
}

/* The live set: w < 0 for the master. */
__attribute__((noinline)) static void keep_mine(int w)
{
	int n = w < 0 ? 3 : w % 7 + 1;
	size_t size = w < 0 ? 50 : 100 * (size_t)(w + 1);
	for (int i = 0; i < n; i++)
		kept[i] = counted(size);
}

static int write_truth(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/truth.%ld", truth_dir, (long)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0)
		t_die("truth file");
	close(fd);
	return t_end();   /* attach mode: waits for the second SIGUSR1 */
}

static void worker_main(int w, int ready_fd)
{
	if (ready_fd >= 0) {
		if (write(ready_fd, "r", 1) != 1)
			t_die("ready pipe");
		t_wait_usr1();
	}
	t_reset(&t_truth);
	churn(churn_n);
	keep_mine(w);
	exit(write_truth());
}

/* Attach mode: SIGUSR1 blocked before the forks (sigwait gets it). */
static void fork_workers(int ready_fd)
{
	for (int w = 0; w < nworkers; w++) {
		pid_t pid = fork();
		if (pid < 0)
			t_die("fork");
		if (pid == 0)
			worker_main(w, ready_fd);
		workers[w] = pid;
	}
}

static void signal_workers(void)
{
	for (int w = 0; w < nworkers; w++)
		kill(workers[w], SIGUSR1);
}

static void wait_workers(void)
{
	for (int w = 0; w < nworkers; w++) {
		int st;
		if (waitpid(workers[w], &st, 0) != workers[w] || !WIFEXITED(st) || WEXITSTATUS(st))
			t_die("worker");
	}
}

/* The workers exist, each waiting for SIGUSR1, before "ready". */
static void prefork_workers(void)
{
	int p[2];
	char b;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(p) < 0)
		t_die("pipe");
	fork_workers(p[1]);
	for (int w = 0; w < nworkers; w++)
		if (read(p[0], &b, 1) != 1)
			t_die("ready pipe");
	close(p[0]);
	close(p[1]);
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--truth-dir") && i + 1 < argc)
			truth_dir = argv[++i];
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			nworkers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--churn") && i + 1 < argc)
			churn_n = atol(argv[++i]);
	}
	if (nworkers < 1 || nworkers > MAX_WORKERS)
		t_die("--workers");
	if (!t_truth.wait_signal) {
		fork_workers(-1);
		wait_workers();
		churn(churn_n);
		keep_mine(-1);
		return write_truth();
	}
	prefork_workers();
	t_begin();   /* "ready", the first SIGUSR1 */
	signal_workers();
	churn(churn_n);
	keep_mine(-1);
	int rc = write_truth();   /* and the second SIGUSR1, passed on */
	signal_workers();
	wait_workers();
	return rc;
}

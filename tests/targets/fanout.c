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
#include "keep.h"

T_DEFINE_TRUTH;

#define MAX_WORKERS 256
static const char *truth_dir = ".";
static int nworkers = 4;
static long churn_n = 1000;
static pid_t workers[MAX_WORKERS];
static void *kept[8];

/* The live set: w < 0 for the master. */
__attribute__((noinline)) static void keep_mine(int w)
{
	int n = w < 0 ? 3 : w % 7 + 1;
	size_t size = w < 0 ? 50 : 100 * (size_t)(w + 1);
	for (int i = 0; i < n; i++)
		kept[i] = t_counted_malloc(size);
}

static void worker_main(int w, int ready_fd)
{
	if (ready_fd >= 0)
		t_worker_ready(ready_fd);
	t_reset(&t_truth);
	t_churn(churn_n, 32, 61);
	keep_mine(w);
	exit(t_end_in_dir(truth_dir, ""));   /* attach mode: waits for the second SIGUSR1 */
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
		t_fork_workers(workers, nworkers, worker_main, -1);
		t_wait_workers(workers, nworkers);
		t_churn(churn_n, 32, 61);
		keep_mine(-1);
		return t_end_in_dir(truth_dir, "");
	}
	t_prefork_workers(workers, nworkers, worker_main);
	t_begin();   /* "ready", the first SIGUSR1 */
	t_signal_workers(workers, nworkers);
	t_churn(churn_n, 32, 61);
	keep_mine(-1);
	int rc = t_end_in_dir(truth_dir, "");   /* and the second SIGUSR1, passed on */
	t_signal_workers(workers, nworkers);
	t_wait_workers(workers, nworkers);
	return rc;
}

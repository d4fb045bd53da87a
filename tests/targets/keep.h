/* keep.h — what the counting targets share beyond truth.h: a counted
 * malloc and free, churn (blocks freed as soon as made), and for the
 * process-tree targets (fanout, prefork, pidreuse) each process's truth
 * in DIR/truth.<pid>[.<n>] and their workers forked, signalled, reaped.
 * Header-only like truth.h.  The blocks a test looks for under a keeping
 * function are allocated by that function of the target's own (through
 * t_counted_malloc), so stacks keep naming it. */
#ifndef MA_KEEP_H
#define MA_KEEP_H

#include <fcntl.h>
#include <sys/wait.h>
#include "truth.h"

/* A malloc of n bytes, touched and counted. */
static inline void *t_counted_malloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		t_die("malloc");
	t_touch(p, n);
	t_alloc(&t_truth, T_MALLOC, n);
	return p;
}

static inline void t_counted_free(void *p, size_t n)
{
	t_free(&t_truth, n);
	free(p);
}

/* rounds blocks of base + i % spread bytes, each freed at once. */
static inline void t_churn(long rounds, size_t base, size_t spread)
{
	for (long i = 0; i < rounds; i++) {
		size_t n = base + (size_t)i % spread;
		t_counted_free(t_counted_malloc(n), n);
	}
}

/* The truth line to DIR/truth.<pid><suffix> instead of stdout, then
 * t_end (in attach mode: the wait for the second SIGUSR1). */
static inline int t_end_in_dir(const char *dir, const char *suffix)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/truth.%ld%s", dir, (long)getpid(), suffix);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0)
		t_die("truth file");
	close(fd);
	return t_end();
}

/* n workers, each running worker(w, ready_fd), which does not return. */
static inline void t_fork_workers(pid_t *pids, int n, void (*worker)(int, int), int ready_fd)
{
	for (int w = 0; w < n; w++) {
		pid_t pid = fork();
		if (pid < 0)
			t_die("fork");
		if (pid == 0)
			worker(w, ready_fd);
		pids[w] = pid;
	}
}

static inline void t_signal_workers(const pid_t *pids, int n)
{
	for (int w = 0; w < n; w++)
		kill(pids[w], SIGUSR1);
}

/* Each worker must exit 0. */
static inline void t_wait_workers(const pid_t *pids, int n)
{
	for (int w = 0; w < n; w++) {
		int st;
		if (waitpid(pids[w], &st, 0) != pids[w] || !WIFEXITED(st) || WEXITSTATUS(st))
			t_die("worker");
	}
}

/* Workers that exist before "ready" (a --pid-tree attach finds them):
 * SIGUSR1 blocked first (each sigwaits for it), then forked; returns when
 * each has written a byte to ready_fd, its second argument. */
static inline void t_prefork_workers(pid_t *pids, int n, void (*worker)(int, int))
{
	int p[2];
	char b;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pipe(p) < 0)
		t_die("pipe");
	t_fork_workers(pids, n, worker, p[1]);
	for (int w = 0; w < n; w++)
		if (read(p[0], &b, 1) != 1)
			t_die("ready pipe");
	close(p[0]);
	close(p[1]);
}

/* A worker of t_prefork_workers: tells it is ready, waits for SIGUSR1. */
static inline void t_worker_ready(int ready_fd)
{
	if (write(ready_fd, "r", 1) != 1)
		t_die("ready pipe");
	t_wait_usr1();
}

#endif

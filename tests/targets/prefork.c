/* prefork.c — a pre-forking server: the master keeps a known number of
 * bytes and forks 3 workers; each worker keeps a different known number
 * of bytes from a function of its own until it exits, churns some more,
 * and frees one block it inherited from the master (an untracked free in
 * its own capture: its capture starts empty at the fork).
 *
 * Each process writes its own truth (truth.h's line) to DIR/truth.<pid>
 * (--truth-dir DIR) when its workload is done.
 *   prefork --truth-dir D              run mode: workers forked at once,
 *                                      each exits after its truth; the
 *                                      master waits for them, then exits
 *   prefork --wait-signal --truth-dir D      attach mode, workers forked
 *                                      after the first SIGUSR1 (during
 *                                      the capture: --follow-fork)
 *   prefork --wait-signal --prefork --truth-dir D   workers forked before
 *                                      "ready" (--pid-tree); the master
 *                                      passes each SIGUSR1 on to them
 * In attach mode each process waits for the second SIGUSR1 (the master
 * passes it on) after its truth, keeping its blocks, then exits.
 *   --exec-worker: worker 2 keeps 5 blocks of its own (pre_exec_keep),
 *   then execs this program as `prefork --exec-child ...`, which does
 *   worker 2's work from its start (the workload of the exec'd program;
 *   nothing inherited) and waits like the workers in attach mode.
 *   --exec-env execve|execle|execvpe|execveat|fexecve: the same exec
 *   given an environment of its own (PREFORK_ENV=own only), which the
 *   exec'd program checks; spawn:
 *   the program started with that environment by posix_spawn in a child
 *   of worker 2 (which then writes no truth).
 *   --exec-master HOW: the master execs this program after the first
 *   SIGUSR1 (master_exec), by HOW: execv, execvp, execl, execlp or one of
 *   --exec-env's; the exec'd program (--exec-started) does the master's
 *   work at once, workers and all.
 *   --exit-raw: the workers end with _exit (no destructor runs).
 *   --threads: 2 threads of the master allocate and free 16-byte blocks
 *   while it forks (locks and batches of other threads at the fork); their
 *   live set stays below the churn's peak, so the peak is still exact. */
#include <pthread.h>
#include <spawn.h>
#include "keep.h"

T_DEFINE_TRUTH;

#define WORKERS 3
#define MASTER_BLOCKS 40
#define MASTER_BLOCK 1000
static const char *truth_dir = ".";
static void *master_blocks[MASTER_BLOCKS];
static pid_t workers[WORKERS];
static int prefork;
/* --prefork: blocks from before the fork (and the attach) the workers free */
static void *inherited[WORKERS];
static int with_threads;
static atomic_int threads_stop, threads_rounds;
static pthread_t hammer[2];
static int exec_worker;
static const char *exec_env;   /* --exec-env: how, or NULL (execv) */
static int exit_raw;           /* --exit-raw: the workers end with _exit */
static const char *self_path;

/* The master's live set: MASTER_BLOCKS x MASTER_BLOCK bytes. */
__attribute__((noinline)) static void master_keep(void)
{
	for (int i = 0; i < MASTER_BLOCKS; i++)
		master_blocks[i] = t_counted_malloc(MASTER_BLOCK);
}

/* Each worker's live set, from a function of its own. */
static void *kept[WORKERS][64];
__attribute__((noinline)) static void worker0_keep(void)
{
	for (int i = 0; i < 10; i++)
		kept[0][i] = t_counted_malloc(1111);
}
__attribute__((noinline)) static void worker1_keep(void)
{
	for (int i = 0; i < 20; i++)
		kept[1][i] = t_counted_malloc(2222);
}
__attribute__((noinline)) static void worker2_keep(void)
{
	for (int i = 0; i < 30; i++)
		kept[2][i] = t_counted_malloc(3333);
}

static void *hammer_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&threads_stop)) {
		t_counted_free(t_counted_malloc(16), 16);
		atomic_fetch_add(&threads_rounds, 1);
	}
	return NULL;
}

/* Only around the forks: pthread_create's own allocations (its stack is
 * mmap'ed by glibc's cache, outside the hooks) happen before. */
static void threads_start(void)
{
	for (int i = 0; with_threads && i < 2; i++)
		if (pthread_create(&hammer[i], NULL, hammer_main, NULL))
			t_die("pthread_create");
	while (with_threads && atomic_load(&threads_rounds) < 2000)
		sched_yield();   /* the forks come while they allocate */
}

static void threads_stop_all(void)
{
	atomic_store(&threads_stop, 1);
	for (int i = 0; with_threads && i < 2; i++)
		pthread_join(hammer[i], NULL);
}

static void worker_work(int w)
{
	static void (*const keep[WORKERS])(void) = { worker0_keep, worker1_keep, worker2_keep };
	t_churn(200 * (w + 1), 64, 97);
	keep[w]();
	/* One of the master's blocks, inherited: not the worker's to count. */
	void **b = prefork ? &inherited[w] : &master_blocks[w];
	free(*b);
	*b = NULL;
	t_untracked_free(&t_truth);
}

__attribute__((noinline)) static void pre_exec_keep(void)
{
	for (int i = 0; i < 5; i++)
		kept[2][32 + i] = t_counted_malloc(777);
}

/* --exec-env spawn: the program started by posix_spawn in a child of
 * worker 2, which writes no truth of its own: it passes the second
 * SIGUSR1 on and exits with the child's status. */
static void spawn_self(char **argv, char **env)
{
	pid_t c;
	int st;
	if (posix_spawn(&c, self_path, NULL, NULL, argv, env))
		t_die("posix_spawn");
	if (t_truth.wait_signal) {
		t_wait_usr1();
		kill(c, SIGUSR1);
	}
	if (waitpid(c, &st, 0) != c)
		t_die("waitpid");
	exit(WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

/* execle's arguments are a list: one call per length used here. */
static void execle_n(char **a, char **env)
{
	int n = 0;
	while (a[n])
		n++;
	if (n == 5)
		execle(self_path, a[0], a[1], a[2], a[3], a[4], (char *)NULL, env);
	else if (n == 6)
		execle(self_path, a[0], a[1], a[2], a[3], a[4], a[5], (char *)NULL, env);
	else if (n == 7)
		execle(self_path, a[0], a[1], a[2], a[3], a[4], a[5], a[6], (char *)NULL, env);
	errno = E2BIG;
}

/* This program again with argv (at most 7 arguments, NULL after them up to
 * a[8]), by how: execv, execvp, execl, execlp with the process's
 * environment; execve, execle, execvpe, execveat, fexecve, spawn with
 * PREFORK_ENV=own only.  Returns only when it failed. */
static void exec_as(const char *how, char **a)
{
	char own[] = "PREFORK_ENV=own", *env[] = {own, NULL};
	if (!strcmp(how, "execv"))
		execv(self_path, a);
	else if (!strcmp(how, "execvp"))
		execvp(self_path, a);
	else if (!strcmp(how, "execl"))   /* execl stops at the first NULL */
		execl(self_path, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (char *)NULL);
	else if (!strcmp(how, "execlp"))
		execlp(self_path, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (char *)NULL);
	else if (!strcmp(how, "execle"))
		execle_n(a, env);
	else if (!strcmp(how, "spawn"))
		spawn_self(a, env);
	else if (!strcmp(how, "execvpe"))
		execvpe(self_path, a, env);
	else if (!strcmp(how, "execveat"))
		execveat(AT_FDCWD, self_path, a, env, 0);
	else if (!strcmp(how, "fexecve"))
		fexecve(open(self_path, O_RDONLY | O_CLOEXEC), a, env);
	else
		execve(self_path, a, env);
}

/* Whether how gives the exec an environment of its own. */
static int own_env_how(const char *how)
{
	return strcmp(how, "execv") && strcmp(how, "execvp") && strcmp(how, "execl") && strcmp(how, "execlp");
}

/* --exec-worker: the exec'd program does worker 2's work; what the worker
 * kept before the exec is gone with its image. */
static void exec_self(void)
{
	char wait[] = "--wait-signal", child[] = "--exec-child", dir[] = "--truth-dir", how[] = "--exec-env";
	char *argv[9] = {0}, **a = argv;
	*a++ = (char *)self_path;
	if (t_truth.wait_signal)
		*a++ = wait;     /* t_init reads it first */
	*a++ = child;
	*a++ = dir;
	*a++ = (char *)truth_dir;
	if (exec_env) {          /* the exec'd program checks its environment */
		*a++ = how;
		*a++ = (char *)exec_env;
	}
	pre_exec_keep();
	exec_as(exec_env ? exec_env : "execv", argv);
	t_die("exec");
}

/* --exec-master HOW: the attached master, once its workload starts, keeps
 * 5 blocks (gone with its image), then execs this program as `prefork
 * --exec-started ...` by HOW, which is the master from its start: its
 * capture must be that program's alone. */
static const char *exec_master;
static int exec_started, own_env;

static void master_exec(void)
{
	char wait[] = "--wait-signal", started[] = "--exec-started", dir[] = "--truth-dir", own[] = "--own-env";
	char *argv[9] = {(char *)self_path, wait, started, dir, (char *)truth_dir, NULL};
	if (own_env_how(exec_master))
		argv[5] = own;   /* the exec'd program checks it was kept */
	pre_exec_keep();
	exec_as(exec_master, argv);
	t_die("exec");
}

/* prefork --exec-started: the first SIGUSR1 came before the exec. */
static void exec_started_begin(void)
{
	const char *e = getenv("PREFORK_ENV");
	sigset_t set;
	if (own_env && (!e || strcmp(e, "own")))
		t_die("the exec's own environment was not kept");
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* prefork --exec-child: the exec'd worker, counted from its start. */
static int exec_child_main(void)
{
	const char *e = getenv("PREFORK_ENV");
	if (exec_env && (!e || strcmp(e, "own")))
		t_die("the exec's own environment was not kept");
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	t_churn(600, 64, 97);
	worker2_keep();
	return t_end_in_dir(truth_dir, "");
}

/* A worker of a prefork (forked before the attach): tells the master it
 * is ready, then waits for the workload's signal like the master. */
static void worker_main(int w, int ready_fd)
{
	if (prefork)
		t_worker_ready(ready_fd);
	t_reset(&t_truth);
	if (exec_worker && w == 2)
		exec_self();
	worker_work(w);
	int rc = t_end_in_dir(truth_dir, "");
	if (exit_raw) {   /* no atexit, no destructor: the agent's hook ends the session */
		fflush(NULL);
		_exit(rc);
	}
	exit(rc);
}

/* --prefork: the workers exist before "ready", each with a block of the
 * master's from before the attach (the reset) to free. */
static void prefork_workers(void)
{
	for (int w = 0; w < WORKERS; w++)
		inherited[w] = t_counted_malloc(MASTER_BLOCK);
	t_prefork_workers(workers, WORKERS, worker_main);
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv), exec_child = 0;
	self_path = argv[0];
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--prefork"))
			prefork = 1;
		else if (!strcmp(argv[i], "--threads"))
			with_threads = 1;
		else if (!strcmp(argv[i], "--exec-worker"))
			exec_worker = 1;
		else if (!strcmp(argv[i], "--exec-child"))
			exec_child = 1;
		else if (!strcmp(argv[i], "--exec-env") && i + 1 < argc)
			exec_worker = 1, exec_env = argv[++i];
		else if (!strcmp(argv[i], "--exec-master") && i + 1 < argc)
			exec_master = argv[++i];
		else if (!strcmp(argv[i], "--exec-started"))
			exec_started = 1;
		else if (!strcmp(argv[i], "--own-env"))
			own_env = 1;
		else if (!strcmp(argv[i], "--exit-raw"))
			exit_raw = 1;
		else if (!strcmp(argv[i], "--truth-dir") && i + 1 < argc)
			truth_dir = argv[++i];
	}
	if (exec_child)
		return exec_child_main();
	if (prefork)
		prefork_workers();
	if (exec_started)
		exec_started_begin();
	else
		t_begin();
	if (exec_master)
		master_exec();
	if (prefork)
		t_signal_workers(workers, WORKERS);
	master_keep();
	t_churn(300, 128, 97);
	if (!prefork) {
		threads_start();
		t_fork_workers(workers, WORKERS, worker_main, -1);
		threads_stop_all();
	}
	if (!t_truth.wait_signal)
		t_wait_workers(workers, WORKERS);
	int rc = t_end_in_dir(truth_dir, "");
	if (t_truth.wait_signal) {
		t_signal_workers(workers, WORKERS);
		t_wait_workers(workers, WORKERS);
	}
	return rc;
}

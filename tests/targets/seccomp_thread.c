/* seccomp_thread.c — a process whose second thread alone runs under a
 * seccomp filter (installed by that thread, without TSYNC: the main thread
 * has none), which fails (EPERM) or kills the process on one syscall: the
 * target of tests/integration/seccomp-threads.sh.
 *   seccomp_thread [--wait-signal] gettid|socket errno|kill
 * The workload: the second thread keeps 30 blocks of 2,000 B from
 * thread_keep(), then the main thread 5 of 500 B from main_keep(); the
 * second thread stays until the end. */
#include <pthread.h>
#include <sys/syscall.h>
#include "seccomp_deny.h"
#include "thread_flags.h"
#include "truth.h"

T_DEFINE_TRUTH;

static void *volatile keep[64];
static int filtered, go, done, release_;
static int nr;
static unsigned int deny;

/* A macro, not a function: the block is the keeping function's own. */
#define KEEP(slot, n)                                   \
	do {                                            \
		void *p_ = malloc(n);                   \
		if (!p_)                                \
			t_die("malloc");                \
		t_touch(p_, n);                         \
		t_alloc(&t_truth, T_MALLOC, n);         \
		keep[slot] = p_;                        \
	} while (0)

__attribute__((noinline)) static void thread_keep(void)
{
	for (int i = 0; i < 30; i++)
		KEEP(i, 2000);
}

__attribute__((noinline)) static void main_keep(void)
{
	for (int i = 0; i < 5; i++)
		KEEP(32 + i, 500);
}

static void *filtered_thread(void *arg)
{
	(void)arg;
	/* this thread's own filter: everything allowed but nr */
	if (seccomp_deny_one(nr, deny) < 0)
		t_die("prctl(PR_SET_SECCOMP)");
	set(&filtered);
	wait_for(&go);
	thread_keep();
	set(&done);
	wait_for(&release_);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	int i = t_init(argc, argv);
	static const struct { const char *name; int nr; } calls[] = {
		{ "gettid", SYS_gettid }, { "socket", SYS_socket }, { "sched_yield", SYS_sched_yield },
		{ "process_vm_readv", SYS_process_vm_readv },
	};
	nr = -1;
	for (size_t c = 0; argc - i == 2 && c < sizeof calls / sizeof *calls; c++)
		if (!strcmp(argv[i], calls[c].name))
			nr = calls[c].nr;
	if (nr < 0 || (strcmp(argv[i + 1], "errno") && strcmp(argv[i + 1], "kill"))) {
		static const char usage[] = "usage: seccomp_thread [--wait-signal] gettid|socket|sched_yield|process_vm_readv errno|kill\n";
		t_write(usage, sizeof usage - 1);
		return 2;
	}
	deny = seccomp_deny_action(argv[i + 1]);
	sigset_t set_;
	sigemptyset(&set_);
	sigaddset(&set_, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set_, NULL);   /* sigwait in main only */
	if (pthread_create(&th, NULL, filtered_thread, NULL))
		t_die("pthread_create");
	wait_for(&filtered);
	t_begin();
	set(&go);
	wait_for(&done);
	main_keep();
	int rc = t_end();
	set(&release_);
	pthread_join(th, NULL);
	return rc;
}

/* seccomp_skip.c — the injector passes over a thread whose own seccomp
 * filter would break the injection: the target of
 * tests/integration/seccomp-skip.sh.
 *   seccomp_skip
 * Thread A installs a filter (without TSYNC) that kills the process on
 * socket, which the agent's thread makes (started from the thread the
 * injection runs on, it inherits that thread's filters) and the hooks
 * never make; thread B, made after A (a larger tid:
 * the injector tries threads in tid order), has none.  The main thread
 * waits inside a SIGUSR2 handler during the attach, where the injector
 * does not stop it (no safe point), so it moves on: to A, passed over,
 * then to B.  It prints "ready <pid> <tid A> <tid B>" from the handler,
 * and the first SIGUSR1 starts the workload: A keeps 30 blocks of 2,000 B
 * from a_keep(), then B 20 of 1,500 B from b_keep(), then the main thread
 * 5 of 500 B from main_keep(); the truth, the second SIGUSR1, exit. */
#include <pthread.h>
#include <sys/syscall.h>
#include "seccomp_deny.h"
#include "thread_flags.h"
#include "truth.h"

T_DEFINE_TRUTH;

static void *volatile keep[64];
static int a_ready, b_ready, a_go, a_done, b_go, b_done, release_;
static volatile pid_t tid_a, tid_b;

#define KEEP(slot, n)                                   \
	do {                                            \
		void *p_ = malloc(n);                   \
		if (!p_)                                \
			t_die("malloc");                \
		t_touch(p_, n);                         \
		t_alloc(&t_truth, T_MALLOC, n);         \
		keep[slot] = p_;                        \
	} while (0)

__attribute__((noinline)) static void a_keep(void)
{
	for (int i = 0; i < 30; i++)
		KEEP(i, 2000);
}

__attribute__((noinline)) static void b_keep(void)
{
	for (int i = 0; i < 20; i++)
		KEEP(32 + i, 1500);
}

__attribute__((noinline)) static void main_keep(void)
{
	for (int i = 0; i < 5; i++)
		KEEP(56 + i, 500);
}

static void *thread_a(void *arg)
{
	(void)arg;
	tid_a = (pid_t)syscall(SYS_gettid);
	if (seccomp_deny_one(SYS_socket, seccomp_deny_action("kill")) < 0)
		t_die("prctl(PR_SET_SECCOMP)");
	set(&a_ready);
	wait_for(&a_go);
	a_keep();
	set(&a_done);
	wait_for(&release_);
	return NULL;
}

static void *thread_b(void *arg)
{
	(void)arg;
	tid_b = (pid_t)syscall(SYS_gettid);
	set(&b_ready);
	wait_for(&b_go);
	b_keep();
	set(&b_done);
	wait_for(&release_);
	return NULL;
}

/* The attach happens while the main thread is in here. */
static void in_handler(int sig)
{
	char buf[96];
	(void)sig;
	int n = snprintf(buf, sizeof buf, "ready %ld %ld %ld\n", (long)getpid(), (long)tid_a, (long)tid_b);
	t_write(buf, (size_t)n);
	t_wait_usr1();
}

int main(int argc, char **argv)
{
	pthread_t a, b;
	struct sigaction sa;
	sigset_t usr1;
	(void)t_init(argc, argv);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);   /* sigwait in main only */
	if (pthread_create(&a, NULL, thread_a, NULL))
		t_die("pthread_create");
	wait_for(&a_ready);
	if (pthread_create(&b, NULL, thread_b, NULL))
		t_die("pthread_create");
	wait_for(&b_ready);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = in_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, NULL) < 0)
		t_die("sigaction");
	raise(SIGUSR2);   /* returns after the first SIGUSR1 */
	t_reset(&t_truth);
	set(&a_go);
	wait_for(&a_done);
	set(&b_go);
	wait_for(&b_done);
	main_keep();
	t_truth.wait_signal = 1;
	int rc = t_end();
	set(&release_);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	return rc;
}

/* nsleak.c — the container target (tests/integration/ns-*.sh): in attach
 * mode, keeps 7 blocks of 40,000 B from ns_keep_big() in the main thread
 * and 50 blocks of 333 B from ns_keep_small() in a second thread, frees
 * 20 blocks of 1,000 B it made from ns_churn(), and prints "ids <pid>
 * <tid of the second thread>" as it sees them (inside its namespace when
 * it runs in one) and its truth; the second thread lives until the end. */
/* nsleak_other: the same program with other function names, for a
 * container whose binary differs from the host's file of the same path. */
#ifdef NSLEAK_OTHER
#define ns_keep_big other_keep_big
#define ns_keep_small other_keep_small
#endif
#include <pthread.h>
#include <sys/syscall.h>
#include "truth.h"

T_DEFINE_TRUTH;

static void *volatile keep[64];
static volatile long small_tid;

__attribute__((noinline)) static void ns_keep_big(int i)
{
	void *p = malloc(40000);
	if (!p)
		t_die("malloc");
	t_touch(p, 40000);
	t_alloc(&t_truth, T_MALLOC, 40000);
	keep[i] = p;
}

__attribute__((noinline)) static void ns_keep_small(int i)
{
	void *p = malloc(333);
	if (!p)
		t_die("malloc");
	t_touch(p, 333);
	t_alloc(&t_truth, T_MALLOC, 333);
	keep[8 + i] = p;
}

__attribute__((noinline)) static void ns_churn(void)
{
	for (int i = 0; i < 20; i++) {
		void *p = malloc(1000);
		if (!p)
			t_die("malloc");
		t_touch(p, 1000);
		t_alloc(&t_truth, T_MALLOC, 1000);
		t_free(&t_truth, 1000);
		free(p);
	}
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int small_done, small_release;

/* Keeps its memory, then stays until the end, so that the test can find
 * its id from outside the namespace too. */
static void *small_thread(void *arg)
{
	(void)arg;
	small_tid = (long)syscall(SYS_gettid);
	for (int i = 0; i < 50; i++)
		ns_keep_small(i);
	pthread_mutex_lock(&lock);
	small_done = 1;
	pthread_cond_broadcast(&cond);
	while (!small_release)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th;
	char buf[96];
	t_init(argc, argv);
	t_begin();
	for (int i = 0; i < 7; i++)
		ns_keep_big(i);
	ns_churn();
	/* the thread's stack and TLS come from mmap, which is not counted:
	 * the target counts only what it asks malloc for */
	if (pthread_create(&th, NULL, small_thread, NULL))
		t_die("pthread_create");
	pthread_mutex_lock(&lock);
	while (!small_done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	int n = snprintf(buf, sizeof buf, "ids %ld %ld\n", (long)getpid(), small_tid);
	t_write(buf, (size_t)n);
	int rc = t_end();
	pthread_mutex_lock(&lock);
	small_release = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	pthread_join(th, NULL);
	return rc;
}

/* report_target.c — known functions for the report formats' integration
 * test: leak_big() leaks 8 blocks of 1 MiB, churn_small() allocates and
 * frees 1000 blocks of 1000 B, on a thread named "churner". */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *keep[8];

__attribute__((noinline)) void *leak_big(size_t n)
{
	void *p = malloc(n);
	if (p)
		memset(p, 1, n);
	return p;
}

__attribute__((noinline)) void churn_small(void)
{
	for (int i = 0; i < 1000; i++) {
		char *p = malloc(1000);
		if (!p)
			abort();
		p[0] = (char)i;
		__asm__ volatile("" : : "r"(p) : "memory");
		free(p);
	}
}

static void *churner(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "churner");
	churn_small();
	return NULL;
}

int main(void)
{
	for (int i = 0; i < 8; i++)
		keep[i] = leak_big(1 << 20);
	pthread_t t;
	if (pthread_create(&t, NULL, churner, NULL))
		return 1;
	pthread_join(t, NULL);
	__asm__ volatile("" : : "r"(keep) : "memory");
	return 0;
}

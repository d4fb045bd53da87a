/* temporary.c — known temporary allocations (freed before the thread's
 * next allocation, heaptrack's rule) from known functions:
 *   temp_burst:    1000 x malloc(100) freed at once        → 1000 temporary, 100,000 B
 *   pairs:         500 x { a = malloc(200); b = malloc(300); free(a); free(b); }
 *                  only b is freed before the next allocation → 500, 150,000 B
 *   keep_and_drop: 100 x malloc(50), then all freed, last first
 *                  only the last one is                     → 1, 50 B
 * Nothing else allocates (no stdio): 1501 temporary, 250,050 B in all.
 * The blocks are written to so that the compiler keeps every call. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

/* A macro, not a function: the allocating line is the caller's own. */
#define MUST(p, n)                            \
	do {                                  \
		(p) = malloc(n);              \
		if (!(p))                     \
			_exit(3);             \
		memset((p), 1, (n));          \
		sink = (p);                   \
	} while (0)

__attribute__((noinline)) void temp_burst(void)
{
	for (int i = 0; i < 1000; i++) {
		void *p;
		MUST(p, 100);
		free(p);
	}
}

__attribute__((noinline)) void pairs(void)
{
	for (int i = 0; i < 500; i++) {
		void *a, *b;
		MUST(a, 200);
		MUST(b, 300);
		free(a);
		free(b);
	}
}

__attribute__((noinline)) void keep_and_drop(void)
{
	void *k[100];
	for (int i = 0; i < 100; i++)
		MUST(k[i], 50);
	for (int i = 99; i >= 0; i--)
		free(k[i]);
}

int main(void)
{
	temp_burst();
	pairs();
	keep_and_drop();
	return 0;
}

/* realloc.c — realloc chains: grow, shrink, realloc(NULL, n), realloc(p, 0),
 * reallocarray, and failing calls that must leave no trace.
 * A realloc of a block counts as a free of the old one and an allocation
 * of the new one (even when the address does not change). */
#include <stdint.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define CHAINS 200
#define STEPS 60

static void *keep[CHAINS];        /* the leaked chains */
static volatile size_t huge = SIZE_MAX / 2;   /* volatile: no -Walloc-size warnings */

/* realloc with bookkeeping: old block (p, old) becomes a block of n bytes. */
static void *re(void *p, size_t old, size_t n)
{
	void *q = realloc(p, n);
	if (p && n == 0) {          /* glibc frees and returns NULL */
		t_free(&t_truth, old);
		return q;
	}
	if (!q)
		t_die("realloc");
	t_touch(q, n);
	if (p)
		t_free(&t_truth, old);
	t_alloc(&t_truth, T_REALLOC, n);
	return q;
}

static void *rea(void *p, size_t old, size_t nmemb, size_t size)
{
	void *q = reallocarray(p, nmemb, size);
	if (!q)
		t_die("reallocarray");
	t_touch(q, nmemb * size);
	if (p)
		t_free(&t_truth, old);
	t_alloc(&t_truth, T_REALLOCARRAY, nmemb * size);
	return q;
}

int main(int argc, char **argv)
{
	uint64_t rng = 42;

	t_init(argc, argv);
	t_begin();
	t_use_kind(&t_truth, T_REALLOC);
	t_use_kind(&t_truth, T_REALLOCARRAY);

	for (int c = 0; c < CHAINS; c++) {
		size_t n = 1 + t_rand(&rng) % 64;
		void *p = re(NULL, 0, n);          /* realloc(NULL, n) allocates */
		for (int s = 0; s < STEPS; s++) {
			size_t m;
			uint64_t r = t_rand(&rng);
			if (s < STEPS / 2)          /* grow, sometimes a lot */
				m = n + 1 + r % (r & 1 ? 64 : 2048);
			else                        /* shrink and wobble */
				m = n > 16 ? n - r % (n / 2) : n + 8;
			p = re(p, n, m);
			n = m;
		}
		if (c % 4 == 0) {
			p = re(p, n, 0);            /* realloc(p, 0) frees */
		} else if (c % 4 == 1) {
			p = rea(p, n, 3, n);        /* grows by reallocarray */
			n = 3 * n;
			free(p);
			t_free(&t_truth, n);
		} else if (c % 4 == 2) {
			free(p);
			t_free(&t_truth, n);
		} else {
			keep[c] = p;                /* leaked */
		}
	}

	/* reallocarray(NULL, ...) allocates; a grow across the mmap threshold. */
	void *a = rea(NULL, 0, 100, 24);
	a = rea(a, 2400, 1000, 200);
	a = re(a, 200000, 300000);
	a = re(a, 300000, 1000);

	/* Failing calls: the old block stays, nothing is counted. */
	if (realloc(a, huge) != NULL)
		t_die("realloc(huge) succeeding");
	if (reallocarray(a, huge, 4) != NULL)
		t_die("reallocarray(overflow) succeeding");
	free(a);
	t_free(&t_truth, 1000);

	return t_end();
}

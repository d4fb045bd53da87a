/* dlib.c — the library the dlopen target loads after start.  Its own code
 * calls malloc/calloc/realloc/free (through its own GOT), counting into
 * the truth the program hands over.  Some blocks stay live (leaked). */
#include "truth.h"

int ma_dlib_work(struct t_truth *t, int rounds);

#define KEEP 32
static void *kept[KEEP];
static size_t kept_n[KEEP];

int ma_dlib_work(struct t_truth *t, int rounds)
{
	uint64_t rng = 77;

	for (int r = 0; r < rounds; r++) {
		size_t n = 1 + t_rand(&rng) % 500;
		char *a = malloc(n);
		char *b = calloc(4, n);
		if (!a || !b)
			return -1;
		t_touch(a, n);
		t_alloc(t, T_MALLOC, n);
		t_alloc(t, T_CALLOC, 4 * n);
		t_free(t, n);
		char *c = realloc(a, 2 * n);
		if (!c)
			return -1;
		t_alloc(t, T_REALLOC, 2 * n);
		t_free(t, 4 * n);
		free(b);
		int k = r % KEEP;
		if (kept[k]) {
			t_free(t, kept_n[k]);
			free(kept[k]);
		}
		kept[k] = c;
		kept_n[k] = 2 * n;
	}
	return 0;
}

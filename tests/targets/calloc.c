/* calloc.c — calloc(nmemb, size) counts nmemb * size bytes; an
 * overflowing calloc fails and leaves no trace. */
#include "truth.h"

T_DEFINE_TRUTH;

#define SLOTS 1024
#define OPS 100000

static struct { void *p; size_t n; } slot[SLOTS];
static volatile size_t huge = SIZE_MAX / 2;

int main(int argc, char **argv)
{
	uint64_t rng = 7;

	t_init(argc, argv);
	t_begin();
	for (int i = 0; i < OPS; i++) {
		unsigned s = (unsigned)(t_rand(&rng) % SLOTS);
		if (slot[s].p) {
			t_free(&t_truth, slot[s].n);
			free(slot[s].p);
			slot[s].p = NULL;
			continue;
		}
		uint64_t r = t_rand(&rng);
		size_t nmemb = 1 + r % 100, size = 1 + (r >> 16) % (r & 64 ? 200 : 24);
		slot[s].p = calloc(nmemb, size);
		if (!slot[s].p)
			t_die("calloc");
		t_touch(slot[s].p, nmemb * size);
		slot[s].n = nmemb * size;
		t_alloc(&t_truth, T_CALLOC, slot[s].n);
	}
	/* A big one (glibc serves it by mmap) and zero-sized ones. */
	void *big = calloc(1000, 1000);
	void *z1 = calloc(0, 8), *z2 = calloc(8, 0);
	if (!big || !z1 || !z2)
		t_die("calloc");
	t_alloc(&t_truth, T_CALLOC, 1000000);
	t_alloc(&t_truth, T_CALLOC, 0);
	t_alloc(&t_truth, T_CALLOC, 0);
	t_free(&t_truth, 1000000);
	free(big);
	t_free(&t_truth, 0);
	free(z1);                                   /* z2 leaks */
	if (calloc(huge, 4) != NULL)
		t_die("calloc(overflow) succeeding");

	for (unsigned s = 0; s < SLOTS; s++)
		if (slot[s].p && s % 5 != 0) {
			t_free(&t_truth, slot[s].n);
			free(slot[s].p);
		}
	return t_end();
}

/* single.c — one thread: malloc/free of varied sizes, some blocks leaked,
 * the peak in the middle (a burst freed before the end). */
#include "keep.h"

T_DEFINE_TRUTH;

#define SLOTS 4096
#define OPS 300000
#define BURST 64

static struct { void *p; size_t n; } slot[SLOTS];
static void *burst[BURST];

static size_t pick_size(uint64_t *rng)
{
	uint64_t r = t_rand(rng);
	switch (r % 16) {
	case 0: return 1 + (r >> 8) % 65536;   /* medium */
	case 1: return 1 + (r >> 8) % 4096;
	default: return 1 + (r >> 8) % 256;     /* mostly small */
	}
}

int main(int argc, char **argv)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	t_init(argc, argv);
	t_begin();

	for (int i = 0; i < OPS; i++) {
		unsigned s = (unsigned)(t_rand(&rng) % SLOTS);
		if (slot[s].p) {
			t_counted_free(slot[s].p, slot[s].n);
			slot[s].p = NULL;
		} else {
			slot[s].n = pick_size(&rng);
			slot[s].p = t_counted_malloc(slot[s].n);
		}
	}
	/* The burst: 64 x 256 KiB on top of everything live, freed again,
	 * so the peak is here and not at the end.  Some are above glibc's
	 * mmap threshold: still malloc to the program. */
	for (int i = 0; i < BURST; i++)
		burst[i] = t_counted_malloc(256 * 1024 + (size_t)i);
	for (int i = 0; i < BURST; i++)
		t_counted_free(burst[i], 256 * 1024 + (size_t)i);

	/* Zero-byte blocks are blocks; free(NULL) is nothing. */
	void *z = t_counted_malloc(0);
	t_counted_free(z, 0);
	(void)t_counted_malloc(0);   /* leaked */
	free(NULL);
	free(NULL);

	/* Free about 7/8 of what is left; the rest leaks. */
	for (unsigned s = 0; s < SLOTS; s++)
		if (slot[s].p && (s % 8) != 3) {
			t_counted_free(slot[s].p, slot[s].n);
			slot[s].p = NULL;
		}
	return t_end();
}

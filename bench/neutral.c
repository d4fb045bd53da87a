/* neutral.c — the malloc-heavy workload of issue 18, neutral to any one
 * profiler's design (built without frame pointers, like most libraries).
 *
 *   neutral THREADS CALLS mixed   — per thread, CALLS heap calls over 1000
 *     slots: an empty slot gets malloc (80%) or calloc (20%), a full one
 *     free (75%) or realloc (25%); sizes from 24 classes of 8-4096 bytes,
 *     1% large (64 KiB - 1 MiB).  Each call is made at the bottom of one of
 *     4 recursive chains, at depths 3-40: 200 distinct stacks.
 *   neutral THREADS PAIRS depth D — per thread, PAIRS malloc/free pairs at
 *     the bottom of one chain of depth D.
 *
 * Prints "neutral events N hwm_kb K cpu_ms C" (events = allocations and
 * frees, a realloc counting as both; CPU of the whole process). */
#include "bench_util.h"

#define SLOTS 1000
#define NSTACKS 200

struct ctx {
	uint64_t rng;
	long todo;
	long events;
	int fixed_depth;          /* 0: mixed */
	void *slot[SLOTS];
};

static uint64_t rnd(struct ctx *c)
{
	return bench_xorshift(&c->rng);
}

static const unsigned classes[24] = {
	8, 16, 24, 32, 48, 64, 80, 96, 128, 160, 192, 256,
	320, 384, 512, 640, 768, 1024, 1280, 1536, 2048, 2560, 3072, 4096,
};

static size_t pick_size(struct ctx *c)
{
	uint64_t r = rnd(c);
	if (r % 100 == 0)
		return (64u << 10) + (size_t)((r >> 8) % ((1u << 20) - (64u << 10)));
	return classes[(r >> 8) % 24];
}

/* One heap call on a random slot; site tells two leaves apart. */
static __attribute__((noinline)) void heap_call(struct ctx *c, int site)
{
	uint64_t r = rnd(c);
	unsigned k = (unsigned)(r % SLOTS);
	unsigned pct = (unsigned)((r >> 16) % 100);
	void *p = c->slot[k];
	if (!p) {
		size_t n = pick_size(c);
		p = pct < 80 ? malloc(n) : calloc(1, n);
		if (!p)
			abort();
		((volatile char *)p)[0] = (char)site;
		c->events++;
	} else if (pct < 75) {
		free(p);
		p = NULL;
		c->events++;
	} else {
		p = realloc(p, pick_size(c));
		if (!p)
			abort();
		c->events += 2;
	}
	c->slot[k] = p;
}

static __attribute__((noinline)) void heap_call_b(struct ctx *c)
{
	heap_call(c, 1);
	__asm__ volatile("" ::: "memory");
}

/* malloc then free of an older block, for the fixed-depth variant. */
static __attribute__((noinline)) void pair(struct ctx *c)
{
	unsigned k = (unsigned)(rnd(c) % SLOTS);
	void *p = malloc(pick_size(c));
	if (!p)
		abort();
	((volatile char *)p)[0] = 1;
	c->events += 1 + (c->slot[k] != NULL);   /* free(NULL) is no event */
	free(c->slot[k]);
	c->slot[k] = p;
}

static void bottom(struct ctx *c, int site)
{
	if (c->fixed_depth)
		pair(c);
	else if (site)
		heap_call_b(c);
	else
		heap_call(c, 0);
}

/* Four recursive chains with frames of different sizes; the work after
 * each call keeps them from becoming loops or tail calls. */
#define CHAIN(name, pad)                                                   \
	static __attribute__((noinline)) int name(struct ctx *c, int d, int site) \
	{                                                                  \
		volatile char buf[pad];                                    \
		buf[0] = (char)d;                                          \
		if (d <= 1)                                                \
			bottom(c, site);                                   \
		else                                                       \
			buf[1] = (char)name(c, d - 1, site);               \
		return buf[0] + buf[pad - 1];                              \
	}
CHAIN(chain0, 16)
CHAIN(chain1, 40)
CHAIN(chain2, 72)
CHAIN(chain3, 120)

static int (*const chains[4])(struct ctx *, int, int) = {chain0, chain1, chain2, chain3};

static void *worker(void *arg)
{
	struct ctx *c = arg;
	if (c->fixed_depth) {
		for (long i = 0; i < c->todo; i += 2)
			chain0(c, c->fixed_depth, 0);
	} else {
		for (long i = 0; i < c->todo; i++) {
			/* stack k: chain k % 4, depth 3 + (k / 4) % 38, leaf k / 152 */
			unsigned k = (unsigned)(rnd(c) % NSTACKS);
			unsigned j = k / 4;
			chains[k % 4](c, 3 + (int)(j % 38), (int)(j / 38));
		}
	}
	for (unsigned k = 0; k < SLOTS; k++)
		if (c->slot[k]) {
			free(c->slot[k]);
			c->events++;
		}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long calls = argc > 2 ? atol(argv[2]) : 2000000;
	int depth = argc > 4 && !strcmp(argv[3], "depth") ? atoi(argv[4]) : 0;
	if (n < 1 || n > 64 || calls < 2 || (argc > 3 && depth < 1 && strcmp(argv[3], "mixed"))) {
		fprintf(stderr, "usage: neutral THREADS CALLS [mixed | depth D]\n");
		return 2;
	}
	struct ctx *c = calloc((size_t)n, sizeof *c);
	if (!c)
		return 1;
	for (int i = 0; i < n; i++) {
		c[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
		c[i].todo = calls;
		c[i].fixed_depth = depth;
	}
	if (bench_threads(c, n, sizeof *c, worker))
		return 1;
	long events = 0;
	for (int i = 0; i < n; i++)
		events += c[i].events;
	bench_result("neutral", events);
	free(c);
	return 0;
}

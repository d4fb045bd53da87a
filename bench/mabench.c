/* mabench.c — a malloc-heavy workload for the benchmark: each thread walks
 * several call paths of varying depth (mutual recursion through distinct
 * functions, so stacks are deep and varied), allocates mixed sizes at the
 * leaves and frees older blocks from a ring.  Prints its own event count
 * and its peak RSS (VmHWM), so the overhead of a profiler inside the
 * process can be compared.  usage: mabench THREADS ALLOCS_PER_THREAD [MAX_DEPTH] */
#include "bench_util.h"

#define RING 4096

static int max_depth = 16;   /* heaptrack 1.4's interpreter blows up past ~24 */

struct ctx {
	uint64_t rng;
	long todo;
	long allocs, frees;
	void *ring[RING];
	unsigned pos;
};

static uint64_t rnd(struct ctx *c)
{
	return bench_xorshift(&c->rng);
}

static size_t pick(struct ctx *c)
{
	uint64_t r = rnd(c);
	switch (r % 10) {
	case 0: return 1024 + (r >> 8) % 16384;
	case 1: case 2: return 128 + (r >> 8) % 1024;
	default: return 8 + (r >> 8) % 120;
	}
}

/* A leaf: a few allocations; each replaces (frees) an older block. */
static __attribute__((noinline)) void leaf(struct ctx *c, int n)
{
	for (int i = 0; i < n && c->todo > 0; i++, c->todo--) {
		size_t sz = pick(c);
		char *p = malloc(sz);
		if (!p)
			abort();
		p[0] = (char)sz;
		c->allocs++;
		unsigned k = c->pos++ % RING;
		if (c->ring[k]) {
			free(c->ring[k]);
			c->frees++;
		}
		c->ring[k] = p;
	}
}

static void path_a(struct ctx *c, int depth, unsigned pat);
static void path_b(struct ctx *c, int depth, unsigned pat);
static void path_c(struct ctx *c, int depth, unsigned pat);

/* Three functions recursing into each other; which one comes next is a bit
 * of the pattern, so a thread sees about NPAT * 40 distinct deep stacks
 * (a real program's few thousand, not a new stack per call). */
#define NPAT 16
#define NEXT(c, d, pat) \
	(((pat) >> ((d) % 4)) & 1 ? path_b : path_c)(c, d, pat)

static __attribute__((noinline)) void path_a(struct ctx *c, int depth, unsigned pat)
{
	volatile char pad[16];
	pad[0] = (char)depth;
	if (depth <= 0)
		leaf(c, 1 + (int)(rnd(c) % 4));
	else
		NEXT(c, depth - 1, pat);
	(void)pad[0];
}

static __attribute__((noinline)) void path_b(struct ctx *c, int depth, unsigned pat)
{
	volatile char pad[48];
	pad[0] = (char)depth;
	if (depth <= 0)
		leaf(c, 2);
	else
		path_a(c, depth - 1, pat);
	(void)pad[0];
}

static __attribute__((noinline)) void path_c(struct ctx *c, int depth, unsigned pat)
{
	volatile char pad[32];
	pad[0] = (char)depth;
	if (depth <= 0) {
		leaf(c, 1);
	} else {
		if (depth % 8 == 0)
			leaf(c, 1);     /* allocations at mid depth too */
		path_a(c, depth - 1, pat);
	}
	(void)pad[0];
}

static void *worker(void *arg)
{
	struct ctx *c = arg;
	while (c->todo > 0)
		path_a(c, 4 + (int)(rnd(c) % max_depth), (unsigned)(rnd(c) % NPAT));
	for (unsigned k = 0; k < RING; k++)
		if (c->ring[k]) {
			free(c->ring[k]);
			c->frees++;
		}
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1;
	long per = argc > 2 ? atol(argv[2]) : 500000;
	if (argc > 3)
		max_depth = atoi(argv[3]);
	if (n < 1 || n > 64 || per < 1 || max_depth < 1) {
		fprintf(stderr, "usage: mabench THREADS ALLOCS_PER_THREAD [MAX_DEPTH]\n");
		return 2;
	}
	struct ctx *c = calloc((size_t)n, sizeof *c);
	if (!c)
		return 1;
	for (int i = 0; i < n; i++) {
		c[i].rng = 0x2545F4914F6CDD1Dull * (uint64_t)(i + 1);
		c[i].todo = per;
	}
	if (bench_threads(c, n, sizeof *c, worker))
		return 1;
	long events = 0;
	for (int i = 0; i < n; i++)
		events += c[i].allocs + c[i].frees;
	bench_result("mabench", events);
	free(c);
	return 0;
}

/* report_workload.c — the capture generator for `make bench-report`: makes
 * exactly EVENTS heap events (each malloc and each free is one), from a fixed
 * set of call stacks 9 to 13 frames deep, with mixed sizes and a small
 * fraction of deliberate leaks, so report time and memory can be measured
 * as a function of capture length alone.
 * usage: report_workload EVENTS [PATHS]
 * PATHS (default 256, at most 1024) sets how many call paths are used. */
#include <stdint.h>
#include "bench_util.h"
#include <stdio.h>
#include <stdlib.h>

#define RING 8192            /* live blocks at any time: bounded, like a cache */
#define LEAK_EVERY 4099      /* about 0.05% of allocations are never freed */

struct ctx {
	uint64_t rng;
	long todo;           /* events still to make */
	long allocs, frees, leaks;
	void *ring[RING];
	unsigned pos;
	unsigned path;       /* picks the function at each level of the stack */
};

static uint64_t rnd(struct ctx *c)
{
	return bench_xorshift(&c->rng);
}

/* Sizes are multiples of 16: with arbitrary byte sizes, the many distinct
 * (size, stack) pairs make heaptrack 1.4's heaptrack_interpret die of
 * std::bad_alloc at ~19 GB after ~100k calls (its allocation-info table). */
static size_t pick(struct ctx *c)
{
	uint64_t r = rnd(c);
	switch (r % 16) {
	case 0: return 16 * (256 + (r >> 8) % 4096);
	case 1: case 2: case 3: return 16 * (16 + (r >> 8) % 240);
	default: return 16 * (1 + (r >> 8) % 15);
	}
}

/* The leaf: a short burst of allocations, each replacing (freeing) the
 * oldest block of the ring, except the odd one left to leak. */
static __attribute__((noinline)) void leaf(struct ctx *c)
{
	int n = 1 + (int)(rnd(c) % 8);
	for (int i = 0; i < n && c->todo > 0; i++) {
		size_t sz = pick(c);
		char *p = malloc(sz);
		if (!p)
			abort();
		p[0] = (char)sz;
		c->allocs++;
		c->todo--;
		unsigned k = c->pos++ % RING;
		if (c->ring[k] && c->todo > 0) {
			if (c->allocs % LEAK_EVERY == 0)
				c->leaks++;          /* dropped on the floor */
			else {
				free(c->ring[k]);
				c->frees++;
				c->todo--;
			}
		}
		c->ring[k] = p;
	}
}

typedef void (*step_fn)(struct ctx *, int);
static void descend(struct ctx *c, int depth);

/* Eight distinct frames; which one runs at each level depends on two bits
 * of the path, so stacks vary without exploding in number. */
#define STEP(name) \
	static __attribute__((noinline)) void name(struct ctx *c, int depth) \
	{ descend(c, depth - 1); __asm__ volatile("" ::: "memory"); }
STEP(parse_a) STEP(parse_b) STEP(eval_a) STEP(eval_b)
STEP(store_a) STEP(store_b) STEP(emit_a) STEP(emit_b)

static const step_fn steps[8] = {
	parse_a, parse_b, eval_a, eval_b, store_a, store_b, emit_a, emit_b,
};

static __attribute__((noinline)) void descend(struct ctx *c, int depth)
{
	if (depth == 0) {
		leaf(c);
		return;
	}
	/* level L uses bits 2L..2L+1 of the path and one of two halves of the
	 * table chosen by the level's parity: 4 choices per level */
	unsigned sel = (c->path >> (2 * (depth % 5))) & 3;
	steps[(depth & 1) * 4 + sel](c, depth);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: report_workload EVENTS [PATHS]\n");
		return 2;
	}
	char *end;
	long events = strtol(argv[1], &end, 10);
	if (*end || events < 1) {
		fprintf(stderr, "report_workload: EVENTS must be a positive number, got '%s'\n", argv[1]);
		return 2;
	}
	unsigned paths = 256;
	if (argc == 3) {
		long p = strtol(argv[2], &end, 10);
		if (*end || p < 1 || p > 1024) {
			fprintf(stderr, "report_workload: PATHS must be 1..1024, got '%s'\n", argv[2]);
			return 2;
		}
		paths = (unsigned)p;
	}
	static struct ctx c = { .rng = 0x9e3779b97f4a7c15ull };
	c.todo = events;
	while (c.todo > 0) {
		c.path = (unsigned)(rnd(&c) % paths);
		/* depth 3..5: main + 2*depth+1 frames + leaf = 9..13 frames */
		descend(&c, 3 + (int)(rnd(&c) % 3));
	}
	/* the ring's blocks are still live: they are part of the leaks too
	 * (freeing them would make events exceed the count asked for) */
	long live = 0;
	for (unsigned k = 0; k < RING; k++)
		live += c.ring[k] != NULL;
	printf("report_workload events %ld allocs %ld frees %ld leaked %ld\n",
	       c.allocs + c.frees, c.allocs, c.frees, c.leaks + live);
	return 0;
}

/* maloop.c — a steady malloc/free workload for the attach benchmark:
 * THREADS threads allocate mixed sizes at the bottom of a call chain of
 * varying depth and free older blocks from a ring, for SECONDS; the main
 * thread prints "tick <CLOCK_REALTIME seconds> <operations so far>" every
 * 20 ms, so throughput before, while and after a profiler attaches can be
 * compared; a fourth column is the process's CPU seconds so far (every
 * thread, a profiler's own included), for the CPU an operation costs.
 * usage: maloop THREADS SECONDS */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define RING 4096

static atomic_ulong ops;
static atomic_int done;

struct ctx {
	uint64_t rng;
	void *ring[RING];
	unsigned pos;
};

static uint64_t rnd(struct ctx *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static __attribute__((noinline)) void leaf(struct ctx *c)
{
	for (int i = 0; i < 64; i++) {
		uint64_t r = rnd(c);
		size_t sz = r % 10 == 0 ? 1024 + (r >> 8) % 8192 : 8 + (r >> 8) % 240;
		char *p = malloc(sz);
		if (!p)
			abort();
		p[0] = (char)sz;
		unsigned k = c->pos++ % RING;
		free(c->ring[k]);
		c->ring[k] = p;
	}
	atomic_fetch_add_explicit(&ops, 128, memory_order_relaxed);
}

/* Stacks of depth 4..12 through two alternating functions. */
static __attribute__((noinline)) void down_b(struct ctx *c, int d);
static __attribute__((noinline)) void down_a(struct ctx *c, int d)
{
	if (d <= 0)
		leaf(c);
	else
		down_b(c, d - 1);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void down_b(struct ctx *c, int d)
{
	if (d <= 0)
		leaf(c);
	else
		down_a(c, d - 1);
	__asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
	static _Thread_local struct ctx c;
	c.rng = 0x9e3779b97f4a7c15ull + (uintptr_t)arg;
	while (!atomic_load_explicit(&done, memory_order_relaxed))
		down_a(&c, 4 + (int)(rnd(&c) % 9));
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: maloop THREADS SECONDS\n");
		return 2;
	}
	int n = atoi(argv[1]);
	double secs = atof(argv[2]);
	if (n < 1 || n > 64 || secs <= 0) {
		fprintf(stderr, "maloop: bad THREADS or SECONDS\n");
		return 2;
	}
	pthread_t th[64];
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i))
			return 1;
	printf("ready %ld\n", (long)getpid());
	double t0 = now(), t;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	while ((t = now()) - t0 < secs) {
		struct timespec cpu;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		printf("tick %.4f %lu %.4f\n", t, (unsigned long)atomic_load(&ops),
		       (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
		fflush(stdout);
		nanosleep(&tick, NULL);
	}
	atomic_store(&done, 1);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	return 0;
}

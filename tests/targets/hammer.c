/* hammer.c — a busy target for attach tests: the main thread and 4 hammer
 * threads malloc/fill/check/free one block at a time without pause, so an
 * attach must find its safe point while every thread is in and out of
 * malloc.  Exact truth comes from counted rounds: on each SIGUSR1 the main
 * thread runs 4 fresh threads with a fixed workload and prints each one's
 * exact totals by tid (the hammers keep going meanwhile).
 *
 * Output:
 *   ready <pid>
 *   hammer tid=T size=S          (one per hammer, main included)
 *   counted round=R tid=T allocations=A frees=F bytes=B leaked=L leaked_bytes=LB
 *   round R done
 *   hammer ops=N bad=K           (at exit; K = blocks found corrupted)
 * SIGUSR2 stops the hammers and ends the process: exit 0, or 3 when a
 * block was corrupted.  Hammer block sizes differ per thread, so a
 * capture must show, per hammer tid, bytes == allocations * size and at
 * most one allocation or free more than its counterpart (the block in
 * hand when tracking began or ended). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NHAMMER 4
#define NCOUNTED 4
#define COUNTED_OPS 20000
#define COUNTED_SLOTS 256

static volatile sig_atomic_t rounds_asked, stop;
static atomic_ulong ops, bad;

static void on_usr1(int sig) { (void)sig; rounds_asked++; }
static void on_usr2(int sig) { (void)sig; stop = 1; }

static void say(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w < 0)
			continue;   /* EINTR from our own signals */
		s += w;
		n -= (size_t)w;
	}
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

/* One malloc/fill/check/free; the fill and the check catch a block handed
 * out twice or scribbled on while the hooks change under us. */
static void hammer_once(size_t size, unsigned char tag)
{
	unsigned char *p = malloc(size);
	if (!p)
		abort();
	memset(p, tag, size);
	for (size_t i = 0; i < size; i += 7)
		if (p[i] != tag)
			atomic_fetch_add(&bad, 1);
	free(p);
	atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
}

static void announce(size_t size)
{
	char line[96];
	snprintf(line, sizeof(line), "hammer tid=%ld size=%zu\n", (long)syscall(SYS_gettid), size);
	say(line);
}

static void *hammer(void *arg)
{
	size_t size = (size_t)(uintptr_t)arg;
	announce(size);
	while (!stop)
		hammer_once(size, (unsigned char)size);
	return NULL;
}

struct counted {
	unsigned idx;
	long tid;
	uint64_t allocations, frees, bytes, leaked, leaked_bytes;
};

/* The counted workload: random malloc/free over a slot table, a fifth of
 * the slots leaked at the end.  Deterministic: the same numbers each round. */
static void *counted(void *arg)
{
	struct counted *c = arg;
	uint64_t rng = 0x51ed2701ull * (c->idx + 1);
	static __thread struct { void *p; size_t n; } slot[COUNTED_SLOTS];

	c->tid = (long)syscall(SYS_gettid);
	for (int i = 0; i < COUNTED_OPS; i++) {
		unsigned s = (unsigned)(rnd(&rng) % COUNTED_SLOTS);
		if (slot[s].p) {
			free(slot[s].p);
			slot[s].p = NULL;
			c->frees++;
		} else {
			size_t n = 1 + rnd(&rng) % 2000;
			slot[s].p = malloc(n);
			if (!slot[s].p)
				abort();
			memset(slot[s].p, 1, n);
			slot[s].n = n;
			c->allocations++;
			c->bytes += n;
		}
	}
	for (unsigned s = 0; s < COUNTED_SLOTS; s++) {
		if (!slot[s].p)
			continue;
		if (s % 5 == 0) {
			c->leaked++;
			c->leaked_bytes += slot[s].n;
		} else {
			free(slot[s].p);
			c->frees++;
		}
		slot[s].p = NULL;
	}
	return NULL;
}

static void counted_round(int round)
{
	pthread_t th[NCOUNTED];
	struct counted c[NCOUNTED];
	char line[256];

	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < NCOUNTED; i++) {
		c[i].idx = i;
		if (pthread_create(&th[i], NULL, counted, &c[i]))
			abort();
	}
	for (unsigned i = 0; i < NCOUNTED; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < NCOUNTED; i++) {
		snprintf(line, sizeof(line),
			 "counted round=%d tid=%ld allocations=%llu frees=%llu bytes=%llu leaked=%llu leaked_bytes=%llu\n",
			 round, c[i].tid, (unsigned long long)c[i].allocations,
			 (unsigned long long)c[i].frees, (unsigned long long)c[i].bytes,
			 (unsigned long long)c[i].leaked, (unsigned long long)c[i].leaked_bytes);
		say(line);
	}
	snprintf(line, sizeof(line), "round %d done\n", round);
	say(line);
}

int main(void)
{
	pthread_t th[NHAMMER];
	struct sigaction sa;
	sigset_t set;
	char line[128];

	/* Only the main thread takes the signals: the hammers never see a
	 * handler run, and the main thread's hammer loop notices at once. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (uintptr_t i = 0; i < NHAMMER; i++)
		if (pthread_create(&th[i], NULL, hammer, (void *)(40 + 8 * i)))
			abort();
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	snprintf(line, sizeof(line), "ready %ld\n", (long)getpid());
	say(line);
	announce(32);
	int rounds_done = 0;
	while (!stop) {
		if (rounds_done < rounds_asked)
			counted_round(++rounds_done);
		hammer_once(32, 32);
	}
	for (int i = 0; i < NHAMMER; i++)
		pthread_join(th[i], NULL);
	snprintf(line, sizeof(line), "hammer ops=%lu bad=%lu\n",
		 (unsigned long)atomic_load(&ops), (unsigned long)atomic_load(&bad));
	say(line);
	return atomic_load(&bad) ? 3 : 0;
}

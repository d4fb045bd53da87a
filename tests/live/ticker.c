/* ticker.c — a target for memattach live and --every: it allocates only
 * when told, so the tests know its live memory at every moment.
 * Reads one-letter commands on stdin:
 *   t   leak_tick() leaks TICK_BLOCKS blocks of TICK_SIZE bytes (kept)
 *   w   the thread "worker" leaks WORKER_BLOCKS blocks of WORKER_SIZE from worker_leak()
 *   q   exit
 * After each command it prints, with write(2) and no allocation of its own:
 *   "tick N live B" or "worker N live B", B the bytes its function holds now. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_BLOCKS 4
#define TICK_SIZE 1234
#define WORKER_BLOCKS 3
#define WORKER_SIZE 777

static void *volatile keep[1 << 16];
static size_t nkeep;
static uint64_t tick_bytes, worker_bytes;
static unsigned ticks, worker_ticks;
static int to_worker[2], from_worker[2];

static void say(const char *what, unsigned n, uint64_t bytes)
{
	char line[96];
	int k = snprintf(line, sizeof line, "%s %u live %llu\n", what, n, (unsigned long long)bytes);
	if (write(1, line, (size_t)k) < 0)
		_exit(3);
}

__attribute__((noinline)) static void leak_tick(void)
{
	for (int i = 0; i < TICK_BLOCKS; i++) {
		void *p = malloc(TICK_SIZE);
		memset(p, 1, TICK_SIZE);
		keep[nkeep++] = p;
	}
	tick_bytes += TICK_BLOCKS * TICK_SIZE;
}

__attribute__((noinline)) static void worker_leak(void)
{
	for (int i = 0; i < WORKER_BLOCKS; i++) {
		void *p = malloc(WORKER_SIZE);
		memset(p, 2, WORKER_SIZE);
		keep[nkeep++] = p;
	}
	worker_bytes += WORKER_BLOCKS * WORKER_SIZE;
}

static void *worker(void *arg)
{
	char c;
	(void)arg;
	pthread_setname_np(pthread_self(), "worker");
	while (read(to_worker[0], &c, 1) == 1) {
		worker_leak();
		if (write(from_worker[1], "", 1) != 1)
			break;
	}
	return NULL;
}

int main(void)
{
	pthread_t th;
	char c, line[64];
	if (pipe(to_worker) < 0 || pipe(from_worker) < 0 || pthread_create(&th, NULL, worker, NULL) != 0)
		return 2;
	int k = snprintf(line, sizeof line, "ready %d\n", (int)getpid());
	if (write(1, line, (size_t)k) < 0)
		return 3;
	while (read(0, &c, 1) == 1) {
		if (c == 'q')
			break;
		if (c == 't') {
			leak_tick();
			say("tick", ++ticks, tick_bytes);
		} else if (c == 'w') {
			if (write(to_worker[1], "w", 1) != 1 || read(from_worker[0], &c, 1) != 1)
				return 4;
			say("worker", ++worker_ticks, worker_bytes);
		}
	}
	return 0;
}

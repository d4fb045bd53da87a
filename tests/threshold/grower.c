/* grower.c — grows its heap by STEP bytes every PERIOD ms, always from
 * grow_cache(), and at the end prints how many blocks it holds.
 * Usage: grower STEP PERIOD_MS [MAX_STEPS]
 * PERIOD_MS 0: a burst instead — MAX_STEPS blocks at once when SIGUSR2
 * comes, then it waits to be killed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *blocks[100000];
static volatile int nblocks;

__attribute__((noinline)) static void grow_cache(size_t step)
{
	volatile char *p = malloc(step);
	if (!p)
		abort();
	/* Every page written, so the RSS grows by step: a memset of a block
	 * nothing reads was left out by the compiler, and the RSS then grew
	 * only where the kernel's transparent huge pages filled whole blocks
	 * (THP "always"; with "madvise" the RSS test waited forever). */
	for (size_t i = 0; i < step; i += 4096)
		p[i] = 0x5a;
	p[step - 1] = 0x5a;
	blocks[nblocks] = (void *)p;
	nblocks = nblocks + 1;
}

int main(int argc, char **argv)
{
	size_t step = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	long period = argc > 2 ? atol(argv[2]) : 50;
	int max = argc > 3 ? atoi(argv[3]) : 100000;
	char buf[64];
	int n;
	if (period == 0) {
		sigset_t usr2;
		int sig;
		sigemptyset(&usr2);
		sigaddset(&usr2, SIGUSR2);
		sigprocmask(SIG_BLOCK, &usr2, NULL);
		n = snprintf(buf, sizeof buf, "ready %d\n", (int)getpid());
		if (write(1, buf, (size_t)n) != n || sigwait(&usr2, &sig))
			return 1;
		for (int i = 0; i < max; i++)
			grow_cache(step);
		for (;;)
			pause();
	}
	n = snprintf(buf, sizeof buf, "ready %d\n", (int)getpid());
	if (write(1, buf, (size_t)n) != n)
		return 1;
	struct timespec t = { period / 1000, (period % 1000) * 1000000L };
	for (int i = 0; i < max; i++) {
		grow_cache(step);
		nanosleep(&t, NULL);
	}
	n = snprintf(buf, sizeof buf, "blocks %d\n", nblocks);
	if (write(1, buf, (size_t)n) != n)
		return 1;
	return 0;
}

/* stallee.c — a counting target for the stall limit: it allocates while
 * the test keeps memattach stopped, times every allocator call itself and
 * prints its exact counts and its longest call.
 *
 * Protocol (attach mode, truth.h): "ready PID"; on SIGUSR1 the workload
 * starts: malloc/free pairs of known sizes, one every call, timed with
 * CLOCK_MONOTONIC.  The first call that takes longer than --slow MS (the
 * pool ran dry and the thread waited for the stopped CLI) is announced
 * with "waited MS"; after --after N more pairs "past N" follows (those
 * were made with the CLI still stopped).  The loop runs on until SIGUSR2,
 * then prints "longest_wait_ns=W calls=C" and the truth line, and waits
 * for the second SIGUSR1. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../targets/truth.h"

T_DEFINE_TRUTH;

static volatile sig_atomic_t stop;
static void on_usr2(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void say(const char *fmt, unsigned long long v)
{
	char buf[96];
	int n = snprintf(buf, sizeof buf, fmt, v);
	t_write(buf, (size_t)n);
}

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	uint64_t slow_ns = 50000000ull, after = 200000;
	for (; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--slow"))
			slow_ns = strtoull(argv[i + 1], NULL, 10) * 1000000ull;
		else if (!strcmp(argv[i], "--after"))
			after = strtoull(argv[i + 1], NULL, 10);
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	t_begin();
	uint64_t longest = 0, calls = 0, waited_at = 0, n = 0;
	int past = 0;
	while (!stop) {
		size_t size = 64 + (size_t)(n & 1023);
		uint64_t t0 = now_ns();
		void *p = malloc(size);
		uint64_t t1 = now_ns();
		if (!p)
			t_die("malloc");
		t_alloc(&t_truth, T_MALLOC, size);
		t_touch(p, size);
		uint64_t t2 = now_ns();
		free(p);
		uint64_t t3 = now_ns();
		t_free(&t_truth, size);
		uint64_t w = t1 - t0 > t3 - t2 ? t1 - t0 : t3 - t2;
		if (w > longest)
			longest = w;
		calls += 2;
		n++;
		if (!waited_at && w >= slow_ns) {
			waited_at = n;
			say("waited %llu\n", (unsigned long long)(w / 1000000));
		}
		if (waited_at && !past && n - waited_at >= after) {
			past = 1;
			say("past %llu\n", (unsigned long long)after);
		}
	}
	char buf[128];
	int k = snprintf(buf, sizeof buf, "longest_wait_ns=%llu calls=%llu\n",
			 (unsigned long long)longest, (unsigned long long)calls);
	t_write(buf, (size_t)k);
	return t_end();
}

/* sampled.c — the known truth for --sample tests (no stdio: write(2)).
 *
 *   sampled leak   leaks LEAK_BLOCKS blocks of LEAK_SIZE bytes from
 *                  leak_big(), 4 MiB from leak_small(), and churns 256 MiB
 *                  through churn() (freed at once): the leak is known.
 *   sampled mix    for each size class 8 B .. 1 MiB (x8 apart, x4 last) allocates
 *                  and frees CLASS_BYTES bytes in blocks of that size, and
 *                  leaks one block of each.
 *   sampled grow N wait for SIGUSR1 (attach), then leak 64 KiB blocks,
 *                  touched, from grow_here() until N bytes are leaked;
 *                  then wait for SIGTERM.
 * Each prints one JSON line of its truth. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LEAK_SIZE 1000
#define LEAK_BLOCKS 65536
#define CLASS_BYTES (16u << 20)

static void *volatile sink;

static void say(const char *s)
{
	size_t n = strlen(s);
	if (write(1, s, n) != (ssize_t)n)
		_exit(4);
}

static void *must(void *p)
{
	if (!p)
		_exit(3);
	return p;
}

__attribute__((noinline)) void leak_big(void)
{
	sink = must(malloc(LEAK_SIZE));
}

__attribute__((noinline)) void leak_small(void)
{
	sink = must(malloc(512));
}

__attribute__((noinline)) void churn(size_t n)
{
	void *p = must(malloc(n));
	sink = p;
	free(p);
}

static int leak(void)
{
	for (int i = 0; i < LEAK_BLOCKS; i++) {
		leak_big();
		if (i % 8 == 0)
			leak_small();
		churn(4096);
	}
	char line[256];
	snprintf(line, sizeof line,
		 "{\"leak_big\": %llu, \"leak_small\": %llu, \"churn\": %llu}\n",
		 (unsigned long long)LEAK_BLOCKS * LEAK_SIZE,
		 (unsigned long long)(LEAK_BLOCKS / 8) * 512,
		 (unsigned long long)LEAK_BLOCKS * 4096);
	say(line);
	return 0;
}

__attribute__((noinline)) void mix_class(size_t size)
{
	for (size_t done = 0; done < CLASS_BYTES; done += size) {
		void *p = must(malloc(size));
		sink = p;
		free(p);
	}
	sink = must(malloc(size));
}

static int mix(void)
{
	char line[512], *o = line;
	o += snprintf(o, 32, "{\"classes\": [");
	for (size_t size = 8; size <= (1u << 20); size *= size < (1u << 18) ? 8 : 4) {
		mix_class(size);
		o += snprintf(o, 64, "%s[%zu, %zu]", size == 8 ? "" : ", ", size, CLASS_BYTES / size + 1);
	}
	snprintf(o, 16, "]}\n");
	say(line);
	return 0;
}

static volatile sig_atomic_t go, stop;
static void on_usr1(int s) { (void)s; go = 1; }
static void on_term(int s) { (void)s; stop = 1; }

__attribute__((noinline)) void grow_here(void)
{
	char *p = must(malloc(65536));
	memset(p, 1, 65536);
	sink = p;
}

static int grow(unsigned long long limit)
{
	sigset_t all, old;
	signal(SIGUSR1, on_usr1);
	signal(SIGTERM, on_term);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	char line[64];
	snprintf(line, sizeof line, "ready %d\n", (int)getpid());
	say(line);
	while (!go)
		sigsuspend(&old);
	sigprocmask(SIG_SETMASK, &old, NULL);
	unsigned long long done = 0;
	while (done < limit) {
		grow_here();
		done += 65536;
	}
	snprintf(line, sizeof line, "{\"grown\": %llu}\n", done);
	say(line);
	sigprocmask(SIG_BLOCK, &all, NULL);
	while (!stop)
		sigsuspend(&old);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "leak"))
		return leak();
	if (argc > 1 && !strcmp(argv[1], "mix"))
		return mix();
	if (argc > 2 && !strcmp(argv[1], "grow"))
		return grow(strtoull(argv[2], NULL, 10));
	say("usage: sampled leak|mix|grow BYTES\n");
	return 2;
}

/* live_target.c — for `make bench-live`: 10,000 distinct stacks (paths of
 * depth 7 through four functions) holding 100 blocks each, 1,000,000 live
 * blocks, then churn: every millisecond one block of a random stack is
 * freed and allocated again through the same stack.  Commands on stdin:
 * 'a' allocate the million (prints "allocated"), 'c' churn until 'q'. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define STACKS 10000
#define PER_STACK 100
#define LEVELS 7

static void *blocks[STACKS][PER_STACK];
static unsigned cur_path, cur_slot, cur_n;

__attribute__((noinline)) static void leaf(void)
{
	for (unsigned k = 0; k < cur_n; k++) {
		free(blocks[cur_path][cur_slot + k]);
		blocks[cur_path][cur_slot + k] = malloc(48);
	}
	__asm__ volatile("");
}

static void descend(unsigned path, int level);
#define STEP(n) \
	__attribute__((noinline)) static void step##n(unsigned path, int level) \
	{ descend(path, level + 1); __asm__ volatile(""); }
STEP(0) STEP(1) STEP(2) STEP(3)

__attribute__((noinline)) static void descend(unsigned path, int level)
{
	if (level == LEVELS) {
		leaf();
		return;
	}
	switch ((path >> (2 * level)) & 3) {
	case 0: step0(path, level); break;
	case 1: step1(path, level); break;
	case 2: step2(path, level); break;
	default: step3(path, level); break;
	}
	__asm__ volatile("");
}

static void through(unsigned path, unsigned slot, unsigned n)
{
	cur_path = path;
	cur_slot = slot;
	cur_n = n;
	descend(path, 0);
}

int main(void)
{
	char c;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	if (read(0, &c, 1) != 1 || c != 'a')
		return 0;
	for (unsigned p = 0; p < STACKS; p++)
		through(p, 0, PER_STACK);
	printf("allocated\n");
	fflush(stdout);
	if (read(0, &c, 1) != 1 || c != 'c')
		return 0;
	struct pollfd pf = { 0, POLLIN, 0 };
	uint64_t x = 88172645463325252ull;
	while (poll(&pf, 1, 1) == 0) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		through((unsigned)(x % STACKS), (unsigned)(x >> 32) % PER_STACK, 1);
	}
	return 0;
}

/* burst.c — an idle process that allocates on command, for the tests of
 * what the agent leaves behind after a detach (attach-leftover.sh).
 *
 * Reads commands from stdin, one a line:
 *   burst  4096 allocations from 2048 distinct call stacks (an 11-level
 *          binary tree of two functions), of 16 B to 64 KiB, all freed
 *          again; prints "done N" (N counts the bursts)
 *   quit   exits 0 (so does end of file)
 * Prints "ready" first.  Between commands it blocks in read(): idle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 11
#define PER_LEAF 2

static void *blocks[(1u << LEVELS) * PER_LEAF];
static unsigned nblocks;

static void walk_a(unsigned path, int level);
static void walk_b(unsigned path, int level);

/* Not inlined, not a tail call: each path through the tree is a stack. */
__attribute__((noinline)) static void leaf(unsigned path)
{
	for (int k = 0; k < PER_LEAF; k++) {
		size_t n = 16u << ((path + (unsigned)k) % 13);
		char *p = malloc(n);
		if (!p)
			exit(2);
		memset(p, (int)path, n < 64 ? n : 64);
		blocks[nblocks++] = p;
	}
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void walk_a(unsigned path, int level)
{
	if (!level)
		leaf(path);
	else if (path >> (level - 1) & 1)
		walk_b(path, level - 1);
	else
		walk_a(path, level - 1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void walk_b(unsigned path, int level)
{
	if (!level)
		leaf(path);
	else if (path >> (level - 1) & 1)
		walk_a(path, level - 1);
	else
		walk_b(path, level - 1);
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	char line[64];
	unsigned bursts = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "burst\n"))
			break;
		nblocks = 0;
		for (unsigned path = 0; path < (1u << LEVELS); path++)
			walk_a(path, LEVELS);
		for (unsigned i = 0; i < nblocks; i++)
			free(blocks[i]);
		printf("done %u\n", ++bursts);
	}
	return 0;
}

/* thread_heap.c — a new thread's heap is the program's own: the thread's
 * first small blocks lie one after another in its fresh arena, as they do
 * untracked.  The agent's pthread_create hook once handed the new thread a
 * block of its creator's (malloc'ed there, freed by the new thread into
 * its tcache), and the thread's first 32-byte allocation came from the
 * creator's arena: every later block shifted by one chunk.
 *
 * Prints "layout N" (N: how many of the thread's 8 first blocks of 32
 * bytes do not follow the previous one at the same distance; 0 untracked)
 * before the truth line. */
#include <pthread.h>
#include <stdint.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define BLOCKS 8

static void *blocks[BLOCKS];

static void *worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(32);
		if (!blocks[i])
			t_die("malloc");
		t_alloc(&t_truth, T_MALLOC, 32);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	t_begin();
	pthread_t th;
	if (pthread_create(&th, NULL, worker, NULL) != 0)
		t_die("pthread_create");
	pthread_join(th, NULL);
	intptr_t step = (intptr_t)blocks[2] - (intptr_t)blocks[1];
	int odd = 0;
	for (int i = 1; i < BLOCKS; i++)
		if ((intptr_t)blocks[i] - (intptr_t)blocks[i - 1] != step)
			odd++;
	char line[64];
	int n = snprintf(line, sizeof(line), "layout %d\n", odd);
	t_write(line, (size_t)n);
	for (int i = 0; i < BLOCKS; i++) {
		t_free(&t_truth, 32);
		free(blocks[i]);
	}
	return t_end();
}

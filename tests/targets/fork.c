/* fork.c — the parent allocates, forks; the child allocates and frees
 * (and leaks) and exits through exit(); none of the child's work may
 * appear.  The parent goes on allocating after the child is gone, and
 * frees some blocks it allocated before the fork. */
#include <sys/wait.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define N 20000
static void *blk[N];

static void work(void **slots, int n, uint64_t seed, int count)
{
	uint64_t rng = seed;
	for (int i = 0; i < n; i++) {
		size_t sz = 1 + t_rand(&rng) % 300;
		slots[i] = malloc(sz);
		if (!slots[i])
			t_die("malloc");
		t_touch(slots[i], sz);
		if (count)
			t_alloc(&t_truth, T_MALLOC, sz);
		if (i % 3 == 0) {
			if (count)
				t_free(&t_truth, sz);
			free(slots[i]);
			slots[i] = NULL;
		}
	}
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	t_begin();
	work(blk, N / 2, 1, 1);
	pid_t pid = fork();
	if (pid < 0)
		t_die("fork");
	if (pid == 0) {
		/* Child: its own blocks, some freed, some of the parent's
		 * freed too, the rest left for exit. */
		static void *mine[N];
		work(mine, N, 2, 0);
		for (int i = 0; i < N / 2; i += 5)
			free(blk[i]);
		exit(0);
	}
	int st;
	if (waitpid(pid, &st, 0) != pid)
		t_die("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_die("child");
	work(blk + N / 2, N / 2, 3, 1);
	/* Free the parent's pre-fork blocks the child freed in its copy. */
	uint64_t rng = 1;
	for (int i = 0; i < N / 2; i++) {
		size_t sz = 1 + t_rand(&rng) % 300;
		if (blk[i] && i % 5 == 0) {
			t_free(&t_truth, sz);
			free(blk[i]);
		}
	}
	return t_end();
}

/* untracked.c — blocks allocated before the workload and freed during it.
 * Attached (--wait-signal), they were allocated before memattach came:
 * their frees are untracked_frees and change nothing else.  Under
 * `memattach run` they are ordinary tracked blocks. */
#include "truth.h"

T_DEFINE_TRUTH;

#define PRE 5000
#define OPS 100000
#define SLOTS 2048

static struct { void *p; size_t n; } pre[PRE], slot[SLOTS];

int main(int argc, char **argv)
{
	uint64_t rng = 3;

	t_init(argc, argv);
	for (int i = 0; i < PRE; i++) {
		pre[i].n = 8 + t_rand(&rng) % 1000;
		pre[i].p = malloc(pre[i].n);
		if (!pre[i].p)
			t_die("malloc");
		t_touch(pre[i].p, pre[i].n);
		t_alloc(&t_truth, T_MALLOC, pre[i].n);
	}
	t_begin();     /* attached: the truth restarts, pre blocks unknown */
	int attached = t_truth.wait_signal;
	t_use_kind(&t_truth, T_MALLOC);

	for (int i = 0; i < OPS; i++) {
		uint64_t r = t_rand(&rng);
		unsigned s = (unsigned)(r % SLOTS);
		if (i % 25 == 0 && pre[i / 25].p) {     /* frees 4000 pre blocks */
			if (attached)
				t_untracked_free(&t_truth);
			else
				t_free(&t_truth, pre[i / 25].n);
			free(pre[i / 25].p);
			pre[i / 25].p = NULL;
		}
		if (slot[s].p) {
			t_free(&t_truth, slot[s].n);
			free(slot[s].p);
			slot[s].p = NULL;
		} else {
			slot[s].n = 1 + (r >> 20) % 2000;
			slot[s].p = malloc(slot[s].n);
			if (!slot[s].p)
				t_die("malloc");
			t_touch(slot[s].p, slot[s].n);
			t_alloc(&t_truth, T_MALLOC, slot[s].n);
		}
	}
	for (unsigned s = 0; s < SLOTS; s += 2)
		if (slot[s].p) {
			t_free(&t_truth, slot[s].n);
			free(slot[s].p);
		}
	return t_end();
}

/* aligned.c — posix_memalign, aligned_alloc, memalign, valloc, pvalloc.
 * Bytes are the size asked for; pvalloc is only asked for whole pages so
 * that asked and given agree.  A posix_memalign with a bad alignment fails
 * and leaves no trace. */
#include <malloc.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define ROUNDS 4000
#define KEEP 64

static struct { void *p; size_t n; } kept[KEEP];

static void got(void *p, enum t_kind k, size_t n, size_t align)
{
	if (!p)
		t_die(t_kind_names[k]);
	if ((uintptr_t)p % align)
		t_die("alignment");
	t_touch(p, n);
	t_alloc(&t_truth, k, n);
}

static void drop(void *p, size_t n)
{
	t_free(&t_truth, n);
	free(p);
}

int main(int argc, char **argv)
{
	uint64_t rng = 99;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	t_init(argc, argv);
	t_begin();
	for (int r = 0; r < ROUNDS; r++) {
		size_t align = (size_t)16 << (t_rand(&rng) % 9);   /* 16 .. 4096 */
		size_t n = 1 + t_rand(&rng) % 3000;
		size_t na = align * (1 + t_rand(&rng) % 4);        /* multiple of align */
		size_t np = page * (1 + t_rand(&rng) % 3);
		void *a, *b, *c, *d, *e;

		if (posix_memalign(&a, align, n) != 0)
			t_die("posix_memalign");
		got(a, T_POSIX_MEMALIGN, n, align);
		b = aligned_alloc(align, na);
		got(b, T_ALIGNED_ALLOC, na, align);
		c = memalign(align, n);
		got(c, T_MEMALIGN, n, align);
		d = valloc(n);
		got(d, T_VALLOC, n, page);
		e = pvalloc(np);
		got(e, T_PVALLOC, np, page);

		int k = r % KEEP;
		if (kept[k].p)
			drop(kept[k].p, kept[k].n);
		kept[k].p = c;                  /* memalign blocks live longer */
		kept[k].n = n;
		drop(a, n);
		drop(b, na);
		drop(d, n);
		drop(e, np);
	}
	/* Bad alignment: EINVAL, nothing allocated. */
	p = NULL;
	if (posix_memalign(&p, 24, 100) != EINVAL || p != NULL)
		t_die("posix_memalign(24) not failing");
	/* Half the kept blocks leak. */
	for (int k = 0; k < KEEP; k += 2)
		drop(kept[k].p, kept[k].n);
	return t_end();
}

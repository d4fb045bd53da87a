/* mmap.c — anonymous mmap/munmap/mremap.  Full unmaps free a block; a
 * partial munmap (head or tail) shrinks it; mremap is a free of the old
 * range and an allocation of the new one (like realloc).  A file mapping
 * and its munmap are not counted at all. */
#include <fcntl.h>
#include <sys/mman.h>
#include "truth.h"

T_DEFINE_TRUTH;

#define ROUNDS 3000
#define KEEP 16

static size_t page;

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		t_die("mmap");
	t_touch(p, n);
	t_alloc(&t_truth, T_MMAP, n);
	return p;
}

static void unmap(void *p, size_t n)
{
	t_free(&t_truth, n);
	if (munmap(p, n) != 0)
		t_die("munmap");
}

/* Unmaps part of a block that stays alive. */
static void trim(void *p, size_t n)
{
	t_shrink(&t_truth, n);
	if (munmap(p, n) != 0)
		t_die("munmap");
}

static void *remap(void *p, size_t old, size_t n)
{
	t_free(&t_truth, old);
	void *q = mremap(p, old, n, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		t_die("mremap");
	t_touch(q, n);
	t_alloc(&t_truth, T_MREMAP, n);
	return q;
}

int main(int argc, char **argv)
{
	uint64_t rng = 5;
	static struct { char *p; size_t n; } kept[KEEP];

	page = (size_t)sysconf(_SC_PAGESIZE);
	t_init(argc, argv);
	t_begin();
	t_use_kind(&t_truth, T_MREMAP);
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = page * (1 + t_rand(&rng) % 16);
		char *p = map(n);
		switch (r % 4) {
		case 0:                         /* plain */
			unmap(p, n);
			break;
		case 1:                         /* tail trimmed, then the rest */
			if (n >= 2 * page) {
				trim(p + n - page, page);
				n -= page;
			}
			unmap(p, n);
			break;
		case 2:                         /* head trimmed, then the rest */
			if (n >= 2 * page) {
				trim(p, page);
				p += page;
				n -= page;
			}
			unmap(p, n);
			break;
		case 3: {                       /* grown by mremap */
			size_t m = n + page * (1 + t_rand(&rng) % 32);
			p = remap(p, n, m);
			n = m;
			int k = (r / 4) % KEEP;
			if (kept[k].p)
				unmap(kept[k].p, kept[k].n);
			kept[k].p = p;
			kept[k].n = n;
			break;
		}
		}
	}
	/* A big block makes the peak, then goes. */
	char *big = map(page * 4096);
	unmap(big, page * 4096);

	/* A file mapping: not tracked, its munmap is ignored. */
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0)
		t_die("open");
	void *fm = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fm == MAP_FAILED)
		t_die("mmap(file)");
	close(fd);
	if (munmap(fm, page) != 0)
		t_die("munmap(file)");

	/* Some kept blocks leak; one more leaks with its tail trimmed. */
	for (int k = 0; k < KEEP; k += 4)
		unmap(kept[k].p, kept[k].n);
	char *last = map(page * 8);
	trim(last + page * 6, page * 2);
	return t_end();
}

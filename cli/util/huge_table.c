/* huge_table.c — see huge_table.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cli/util/huge_table.h"

#define HUGE_PAGE ((size_t)2 << 20)

static int is_huge(size_t bytes)
{
	return bytes >= HUGE_PAGE && bytes % HUGE_PAGE == 0;
}

/* A mapping of bytes at a huge page boundary (huge pages map only there):
 * one page more is mapped and the ends cut off. */
static char *map_aligned(size_t bytes)
{
	char *m = mmap(NULL, bytes + HUGE_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	size_t lead = (HUGE_PAGE - (uintptr_t)m % HUGE_PAGE) % HUGE_PAGE;
	if (lead)
		munmap(m, lead);
	munmap(m + lead + bytes, HUGE_PAGE - lead);
	madvise(m + lead, bytes, MADV_HUGEPAGE);        /* advice: small pages work too */
	return m + lead;
}

/* Writes [from, to) of p before anything reads it: a read first would map
 * the shared zero page, and the write after it would then be served in
 * small pages. */
static void prefault(char *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i += HUGE_PAGE)
		((volatile char *)p)[i] = 0;
}

void *ma_huge_zalloc(size_t bytes)
{
	if (!is_huge(bytes))
		return calloc(1, bytes);
	char *p = map_aligned(bytes);
	if (p)
		prefault(p, 0, bytes);
	return p;
}

void *ma_huge_grow(void *p, size_t old, size_t bytes)
{
	if (!is_huge(bytes)) {
		char *n = realloc(p, bytes);
		if (n)
			memset(n + old, 0, bytes - old);
		return n;
	}
	char *n = map_aligned(bytes);
	if (!n)
		return NULL;
	if (!is_huge(old)) {
		memcpy(n, p, old);
		free(p);
	} else if (mremap(p, old, old, MREMAP_MAYMOVE | MREMAP_FIXED, n) == MAP_FAILED) {
		munmap(n, bytes);
		return NULL;
	}
	prefault(n, old, bytes);
	return n;
}

void ma_huge_free(void *p, size_t bytes)
{
	if (!is_huge(bytes))
		free(p);
	else if (p)
		munmap(p, bytes);
}

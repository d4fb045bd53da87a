/* symtarget.c — allocations at known lines for the symbolization tests:
 * one in a plain function, one in an always-inline helper.  The markers
 * (SYM_...) let the tests find the lines.  Built with -O2 -g. */
#include <stdio.h>
#include <stdlib.h>

void *volatile sink[2];

static inline __attribute__((always_inline)) void *inline_helper(size_t n)
{
	return malloc(n * 3); /* SYM_INLINE_ALLOC */
}

__attribute__((noinline)) void *alloc_direct(size_t n)
{
	void *p = malloc(n); /* SYM_DIRECT_ALLOC */
	sink[0] = p;         /* keeps the call from being a tail call */
	return p;
}

__attribute__((noinline)) void *alloc_inlined(size_t n)
{
	void *p = inline_helper(n); /* SYM_INLINE_CALL */
	sink[1] = p;
	return p;
}

int main(int argc, char **argv)
{
	(void)argv;
	/* leaked on purpose: the tests find them among the leaks */
	alloc_direct(7001 + (size_t)argc - 1);
	alloc_inlined(3001 + (size_t)argc - 1);
	printf("done\n");
	return 0;
}

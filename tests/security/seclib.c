/* seclib.c — built twice by tests/security/hostile-stream.sh with one
 * build id: as the target's own library (FN = public_alloc_fn) and as a
 * root-only "secret" one (FN = secret_function_name_xyz), so that the
 * secret file passes a build-id check for the target's module. */
#include <stdlib.h>

#ifndef FN
#define FN public_alloc_fn
#endif

__attribute__((noinline)) void *FN(size_t n)
{
	void *p = malloc(n);
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

/* wrapper.c — allocations through allocator wrappers, from known callers:
 *   cache_put  → zmalloc (redis's name, a known wrapper): 10 x 1000 B kept
 *   load_table → my_alloc (a wrapper memattach cannot know): 5 x 2000 B kept
 * Nothing else allocates (no stdio).  By own, the reports must name
 * cache_put (zmalloc folded into the allocator), my_alloc (until
 * --wrapper my_alloc names it), never a 0-byte row. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile keep[16];

__attribute__((noinline)) void *zmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		_exit(3);
	memset(p, 1, n);
	return p;
}

__attribute__((noinline)) void *my_alloc(size_t n)
{
	void *p = malloc(n);
	if (!p)
		_exit(3);
	memset(p, 2, n);
	return p;
}

__attribute__((noinline)) void cache_put(int i)
{
	keep[i] = zmalloc(1000);
}

__attribute__((noinline)) void load_table(int i)
{
	keep[10 + i] = my_alloc(2000);
}

int main(void)
{
	for (int i = 0; i < 10; i++)
		cache_put(i);
	for (int i = 0; i < 5; i++)
		load_table(i);
	return 0;
}

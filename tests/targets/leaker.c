/* leaker.c — leaker N M: leaks N blocks of 1000 B from leak_fast() and M
 * blocks of 100 B from leak_slow(), nothing else (no stdio): two runs at
 * two rates are the --base test's known change. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile sink;

__attribute__((noinline)) void leak_fast(void)
{
	void *p = malloc(1000);
	if (!p)
		_exit(3);
	memset(p, 1, 1000);
	sink = p;
}

__attribute__((noinline)) void leak_slow(void)
{
	void *p = malloc(100);
	if (!p)
		_exit(3);
	memset(p, 1, 100);
	sink = p;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10, m = argc > 2 ? atoi(argv[2]) : 10;
	for (int i = 0; i < n; i++)
		leak_fast();
	for (int i = 0; i < m; i++)
		leak_slow();
	return 0;
}

/* untouched.c — a heap above RSS: 64 MiB from calloc and 64 MiB from
 * malloc, kept to the end and never written (glibc maps blocks this big
 * with fresh zero pages: calloc need not clear them), so the tracked heap
 * (128 MiB leaked) is far above RSS.  Prints "LEAKED <bytes>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (64u << 20)

int main(void)
{
	void *volatile a = calloc(1, SIZE);
	void *volatile b = malloc(SIZE);
	if (!a || !b)
		return 1;
	char line[64];   /* no stdio buffer: nothing else stays allocated */
	snprintf(line, sizeof line, "LEAKED %u\n", 2 * SIZE);
	return write(1, line, strlen(line)) > 0 ? 0 : 1;
}

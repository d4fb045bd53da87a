/* spinner.c — allocates and frees without pause and writes its count every
 * 100 ms, so a test can see whether it is making progress. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	char buf[64];
	unsigned long n = 0;
	struct timespec last, now;
	int k = snprintf(buf, sizeof buf, "ready %d\n", (int)getpid());
	if (write(1, buf, (size_t)k) != k)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &last);
	for (;;) {
		void *volatile p = malloc(64 + (n & 1023));
		free(p);
		if (++n % 4096)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - last.tv_sec) * 1000000000L + now.tv_nsec - last.tv_nsec >= 100000000L) {
			last = now;
			k = snprintf(buf, sizeof buf, "%lu\n", n);
			if (write(1, buf, (size_t)k) != k)
				return 1;
		}
	}
}

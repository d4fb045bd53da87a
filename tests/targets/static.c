/* static.c — a statically linked process (no dynamic loader): memattach
 * --pid must refuse it with exit 7.  Prints "ready <pid>" and sleeps. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	for (int i = 0; i < 600; i++)
		sleep(1);
	return 0;
}

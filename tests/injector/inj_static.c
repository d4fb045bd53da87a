/* inj_static.c — a statically linked target: the injector must refuse it. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

/* fake_loader.c — a target that has loaded LIB itself (the test's fake
 * libmemattach-agent.so).  Prints "ready", then waits for SIGTERM. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2 || !dlopen(argv[1], RTLD_NOW)) {
		fprintf(stderr, "fake_loader: %s\n", argc == 2 ? dlerror() : "usage: fake_loader LIB");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

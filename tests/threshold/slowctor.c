/* slowctor.c — a library whose constructor takes 20 ms: spingap
 * --busy-loader dlopens and dlcloses it in a loop, so that the dynamic
 * loader's lock is held most of the time, as in a program that loads
 * plugins.  A dlopen on a thread the injector stopped would wait for it. */
#include <time.h>

__attribute__((constructor)) static void slow_constructor(void)
{
	struct timespec ts = { 0, 20 * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

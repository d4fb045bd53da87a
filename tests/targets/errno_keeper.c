/* errno_keeper.c — a target that checks its errno: the main thread sets
 * errno to a value of its own and spins reading it back, counting the
 * spins and every time it found errno changed (which its own code never
 * does: only code run on the thread by someone else can).  A second
 * thread sleeps; a third has ended at the start, so that glibc has a
 * thread stack in its cache (tests/integration/inject-limits.sh).
 *   prints "ready PID"; SIGUSR2: prints "errno_keeper spins=N changed=K"
 *   and exits 0, or 3 when errno changed under it. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MINE 4242

static volatile sig_atomic_t stop;

static void on_usr2(int sig) { (void)sig; stop = 1; }

static void *ends(void *arg) { return arg; }

static void *sleeper(void *arg)
{
	sigset_t all;
	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;)
		pause();
	return NULL;
}

int main(void)
{
	volatile int *e = &errno;
	unsigned long spins = 0, changed = 0;
	struct sigaction sa;
	pthread_t th;
	char line[96];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	/* the sleeper first: it would take the ended thread's cached stack */
	if (pthread_create(&th, NULL, sleeper, NULL) ||
	    pthread_create(&th, NULL, ends, NULL) || pthread_join(th, NULL))
		return 2;
	snprintf(line, sizeof(line), "ready %ld\n", (long)getpid());
	if (write(1, line, strlen(line)) < 0)
		return 2;
	*e = MINE;
	while (!stop) {
		if (*e != MINE) {
			changed++;
			*e = MINE;
		}
		spins++;
	}
	snprintf(line, sizeof(line), "errno_keeper spins=%lu changed=%lu\n", spins, changed);
	if (write(1, line, strlen(line)) < 0)
		return 2;
	return changed ? 3 : 0;
}

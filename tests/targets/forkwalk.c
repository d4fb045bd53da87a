/* forkwalk.c — forks while other threads allocate, for the loader's list
 * lock (fork-walk.sh).  THREADS threads malloc and free without end; the
 * main thread forks FORKS children one after the other.  Each child
 * mallocs and frees, walks the loader's list itself (as an exception or a
 * dlopen would) and exits 0.  A child that has not exited 20 s after its
 * fork is hung: it is killed and counted.  Prints "forks F hung H" and
 * exits 0 when H is 0, else 1.
 * Usage: forkwalk FORKS THREADS */
#define _GNU_SOURCE
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;

static void *churn(void *arg)
{
	(void)arg;
	for (size_t n = 0; !atomic_load(&stop); n++) {
		volatile char *p = malloc(32 + (n & 255));
		if (p)
			p[0] = 1;
		free((void *)p);
	}
	return NULL;
}

static int count_object(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)info;
	(void)size;
	++*(int *)data;
	return 0;
}

static void child(void)
{
	int objects = 0;
	void *p = malloc(1000);
	free(p);
	dl_iterate_phdr(count_object, &objects);
	_exit(objects > 0 ? 0 : 2);
}

/* 1 when pid exited 0 within 20 s; else it is killed: 0. */
static int reaped(pid_t pid)
{
	for (int i = 0; i < 2000; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		struct timespec t = { 0, 10000000 };
		nanosleep(&t, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 0;
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 100, nthreads = argc > 2 ? atoi(argv[2]) : 2;
	pthread_t th[8];
	if (nthreads > 8)
		nthreads = 8;
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, churn, NULL))
			return 3;
	int hung = 0;
	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid == 0)
			child();
		if (pid < 0 || !reaped(pid))
			hung++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	printf("forks %d hung %d\n", forks, hung);
	return hung ? 1 : 0;
}

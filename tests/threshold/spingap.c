/* spingap.c — how long an attach takes a thread away from its program.
 * Two threads (the main one, which the injector seizes, and one more)
 * spin reading CLOCK_MONOTONIC, their own CPU time and their own run delay
 * (the time they waited for a CPU, /proc/thread-self/schedstat).  A gap
 * between two readings less the CPU time and the run delay that grew
 * meanwhile is time the thread was stopped or asleep (ptrace stops, waits
 * for a lock in injected calls): machine load does not count.
 *
 *   spingap                 prints "ready PID TID0 TID1"; each SIGUSR1
 *                           opens a window (the threads spin; "open N")
 *                           or closes it and prints, per thread,
 *                           "window N tid=T stolen_ns=S gap_ns=G";
 *                           SIGTERM ends it.
 *   spingap --busy-loader LIB  the same, with a third thread that dlopens
 *                           and dlcloses LIB in a loop (its constructor
 *                           takes 20 ms: the loader's lock is held most of
 *                           the time);
 *   spingap --dlopen PATH   prints "dlopen_cpu_ns=C" (the CPU time of
 *                           dlopen(PATH) in this thread) and exits. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NSPIN 2

struct spinner {
	long tid;
	_Atomic uint64_t stolen, gap;   /* largest of the open window */
};

static struct spinner spin[NSPIN];
static atomic_int window_open;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate = PTHREAD_COND_INITIALIZER;

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The run delay (ns) of the calling thread: schedstat's second field. */
static uint64_t run_delay(int fd)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	unsigned long long run = 0, delay = 0;
	if (n <= 0)
		return 0;
	buf[n] = 0;
	sscanf(buf, "%llu %llu", &run, &delay);
	return delay;
}

static void put_max(_Atomic uint64_t *m, uint64_t v)
{
	if (v > atomic_load_explicit(m, memory_order_relaxed))
		atomic_store_explicit(m, v, memory_order_relaxed);
}

/* Spins while the window is open.  A gap between two readings is the
 * thread's CPU time, its run delay and the rest: time it was stopped or
 * asleep, which is what an attach takes from it.  CPU time is taken out
 * too because this machine's host takes a whole vCPU away now and then
 * (gaps of 100 ms, its CPU quota's period, seen with no tracer at all):
 * without a steal clock the guest counts that time as the CPU time of the
 * thread that was on the vCPU, never as run delay.  The clocks are read
 * before the run delay: a preemption at the return of the reads counts in
 * both of the next differences.  One that falls between the readings makes
 * one difference -P and the next +P: each difference is taken with the
 * previous one's deficit. */
static void spin_window(struct spinner *s, int fd)
{
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t d0 = run_delay(fd);
	int64_t deficit = 0;
	while (atomic_load_explicit(&window_open, memory_order_relaxed)) {
		uint64_t t = clock_ns(CLOCK_MONOTONIC), c = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		uint64_t d = run_delay(fd);
		int64_t stolen = (int64_t)(t - t0) - (int64_t)(c - c0) - (int64_t)(d - d0);
		if (stolen + deficit > 0)
			put_max(&s->stolen, (uint64_t)(stolen + deficit));
		put_max(&s->gap, t - t0);
		deficit = stolen + deficit < 0 ? stolen + deficit : 0;
		t0 = t;
		c0 = c;
		d0 = d;
	}
}

static void *spinner_main(void *arg)
{
	struct spinner *s = arg;
	char path[64];
	__atomic_store_n(&s->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", s->tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(path);
		exit(2);
	}
	for (;;) {
		pthread_mutex_lock(&gate_lock);
		while (!atomic_load(&window_open))
			pthread_cond_wait(&gate, &gate_lock);
		pthread_mutex_unlock(&gate_lock);
		spin_window(s, fd);
	}
	return NULL;
}

static void say(const char *s)
{
	if (write(1, s, strlen(s)) < 0)
		exit(3);
}

/* Takes the signals: SIGUSR1 opens and closes windows. */
static void *reporter(void *arg)
{
	(void)arg;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	for (int n = 1;; ) {
		int sig;
		char line[160];
		if (sigwait(&set, &sig) || sig != SIGUSR1)
			exit(0);
		if (!atomic_load(&window_open)) {
			for (int i = 0; i < NSPIN; i++)
				spin[i].stolen = spin[i].gap = 0;
			pthread_mutex_lock(&gate_lock);
			atomic_store(&window_open, 1);
			pthread_cond_broadcast(&gate);
			pthread_mutex_unlock(&gate_lock);
			snprintf(line, sizeof line, "open %d\n", n);
			say(line);
			continue;
		}
		atomic_store(&window_open, 0);
		usleep(1000);   /* the spinners see it and leave the loop */
		for (int i = 0; i < NSPIN; i++) {
			snprintf(line, sizeof line, "window %d tid=%ld stolen_ns=%llu gap_ns=%llu\n", n,
				 spin[i].tid, (unsigned long long)spin[i].stolen,
				 (unsigned long long)spin[i].gap);
			say(line);
		}
		n++;
	}
	return NULL;
}

static void *busy_loader(void *lib)
{
	for (;;) {
		void *h = dlopen(lib, RTLD_NOW);
		if (!h) {
			fprintf(stderr, "spingap: %s\n", dlerror());
			exit(2);
		}
		dlclose(h);
	}
	return NULL;
}

static int dlopen_time(const char *path)
{
	uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	void *h = dlopen(path, RTLD_NOW);
	uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	if (!h) {
		fprintf(stderr, "spingap: %s\n", dlerror());
		return 1;
	}
	printf("dlopen_cpu_ns=%llu\n", (unsigned long long)(c1 - c0));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dlopen"))
		return dlopen_time(argv[2]);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_t th;
	if (pthread_create(&th, NULL, spinner_main, &spin[1]) ||
	    pthread_create(&th, NULL, reporter, NULL))
		return 2;
	if (argc == 3 && !strcmp(argv[1], "--busy-loader") &&
	    pthread_create(&th, NULL, busy_loader, argv[2]))
		return 2;
	while (!__atomic_load_n(&spin[1].tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	char line[96];
	snprintf(line, sizeof line, "ready %ld %ld %ld\n", (long)getpid(), (long)getpid(), spin[1].tid);
	say(line);
	spinner_main(&spin[0]);
	return 0;
}

/* inj_target.c — target programs for the injector tests, one per mode.
 * Each prints "ready" when set up, does its one thing, and prints exactly
 * what it observed so the test can compare with the truth. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop, usr1, rt;

static void on_term(int sig) { (void)sig; stop = 1; }
static void on_usr1(int sig) { (void)sig; usr1++; }
static void on_rt(int sig) { (void)sig; rt++; }

static void ready(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_rt;
	sigaction(SIGRTMIN, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int mode_read(void)
{
	char buf[256];
	ssize_t n;

	ready();
	n = read(0, buf, sizeof(buf) - 1);
	if (n < 0) {
		printf("read=-1 errno=%d\n", errno);
		return 1;
	}
	buf[n] = '\0';
	printf("read=%zd data=%s", n, buf);
	return 0;
}

static int mode_sleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L }, rem = { 0, 0 };
	double t0;
	int rc, e;

	ready();
	t0 = now_ms();
	rc = nanosleep(&ts, &rem);
	e = rc ? errno : 0;
	printf("rc=%d errno=%d elapsed_ms=%ld\n", rc, e, (long)(now_ms() - t0));
	return 0;
}

static int mode_epoll(void)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(0), n, e;
	char c = '?';

	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	ready();
	n = epoll_wait(ep, &out, 1, -1);
	e = n < 0 ? errno : 0;
	if (n == 1 && read(0, &c, 1) != 1)
		c = '!';
	printf("n=%d errno=%d byte=%c\n", n, e, c);
	return 0;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static void *cond_waker(void *p)
{
	char c;
	(void)p;
	if (read(0, &c, 1) != 1)
		c = 0;
	pthread_mutex_lock(&mu);
	flag = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int mode_cond(void)
{
	pthread_t t;
	int rc = 0, loops = 0;

	pthread_mutex_lock(&mu);
	pthread_create(&t, NULL, cond_waker, NULL);
	ready();
	while (!flag) {
		rc = pthread_cond_wait(&cv, &mu);
		loops++;
	}
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	printf("rc=%d loops=%d\n", rc, loops);
	return 0;
}

/* Every thread allocates, fills, checks and frees blocks as fast as it can. */
static void *hammer(void *p)
{
	unsigned long seed = (unsigned long)(uintptr_t)p * 2654435761UL + 1, ops = 0;
	unsigned char *blk[64] = { 0 };
	size_t sz[64] = { 0 };

	while (!stop) {
		unsigned i = (unsigned)((seed >> 33) % 64);
		seed = seed * 6364136223846793005UL + 1442695040888963407UL;
		if (blk[i]) {
			for (size_t k = 0; k < sz[i]; k++)
				if (blk[i][k] != (unsigned char)(i + sz[i])) {
					printf("CORRUPT\n");
					fflush(stdout);
					abort();
				}
			if (seed & 1) {
				free(blk[i]);
				blk[i] = NULL;
				continue;
			}
			sz[i] = 1 + (seed >> 40) % 3000;
			blk[i] = realloc(blk[i], sz[i]);
		} else {
			sz[i] = 1 + (seed >> 40) % 3000;
			blk[i] = (seed & 2) ? calloc(1, sz[i]) : malloc(sz[i]);
		}
		memset(blk[i], (int)(i + sz[i]), sz[i]);
		ops++;
	}
	for (unsigned i = 0; i < 64; i++)
		free(blk[i]);
	return (void *)ops;
}

static int mode_malloc(int nthreads)
{
	pthread_t t[16];
	unsigned long total = 0;
	void *r;
	int i;

	ready();
	for (i = 1; i < nthreads && i < 16; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i);
	total = (unsigned long)hammer((void *)0);
	for (i = 1; i < nthreads && i < 16; i++) {
		pthread_join(t[i], &r);
		total += (unsigned long)r;
	}
	printf("ok ops>0=%d\n", total > 0);
	return 0;
}

/* Integer and floating point state live in registers across the loop; a
 * register the injector failed to restore changes the result.  The seed is
 * volatile so the compiler recomputes every round. */
static volatile uint64_t seed0 = 0x9E3779B97F4A7C15ULL;

struct result { uint64_t a, b, c; double x, y; };

static inline __attribute__((always_inline)) struct result compute(void)
{
	struct result r = { seed0, 1, 7, 1.0, 0.5 };

	for (int i = 0; i < 100000; i++) {
		r.a = r.a * 6364136223846793005ULL + 1442695040888963407ULL;
		r.b ^= r.a >> 17;
		r.c += r.b * 3 + (r.a >> 60);
		r.x = r.x * 1.0000001 + r.y;
		r.y = r.y * 0.9999999 + 1e-9;
	}
	return r;
}

static __attribute__((noinline)) struct result reference(void)
{
	return compute();
}

static int mode_regs(void)
{
	struct result ref = reference();
	unsigned long rounds = 0;

	ready();
	while (!stop) {
		struct result r = compute();
		if (r.a != ref.a || r.b != ref.b || r.c != ref.c || r.x != ref.x || r.y != ref.y) {
			printf("MISMATCH round %lu\n", rounds);
			return 1;
		}
		rounds++;
	}
	printf("ok rounds>0=%d usr1=%d\n", rounds > 0, (int)usr1);
	return 0;
}

/* Vector registers no C code here touches: zmm16 (AVX-512) or all of
 * ymm15 (AVX), filled once and compared in a loop.  Whatever returns the
 * thread to its code (the tracer's restore, or the rt_sigreturn frame of
 * a call whose tracer vanished) must give them back whole. */
static const uint32_t vec_pat[16] __attribute__((aligned(64))) = {
	0x01234567, 0x89abcdef, 0x02468ace, 0x13579bdf, 0xdeadbeef, 0xfeedface,
	0x0badf00d, 0xcafebabe, 0x11111111, 0x22222222, 0x33333333, 0x44444444,
	0x55555555, 0x66666666, 0x77777777, 0x88888888,
};

/* 0 when the register held the pattern for n rounds. */
static int vec_check(int zmm, long n)
{
	int bad;

	if (zmm)
		__asm__ volatile("1: vpcmpeqd %[p], %%zmm16, %%k1\n\tkortestw %%k1, %%k1\n\tjnc 2f\n"
				 "\tdec %[n]\n\tjnz 1b\n\txor %[bad], %[bad]\n\tjmp 3f\n"
				 "2: mov $1, %[bad]\n3:"
				 : [bad] "=r"(bad), [n] "+r"(n) : [p] "m"(vec_pat) : "cc");
	else
		__asm__ volatile("1: vpcmpeqd %[p], %%ymm15, %%ymm14\n\tvpmovmskb %%ymm14, %[bad]\n"
				 "\tcmp $-1, %[bad]\n\tjne 2f\n"
				 "\tdec %[n]\n\tjnz 1b\n\txor %[bad], %[bad]\n\tjmp 3f\n"
				 "2: mov $1, %[bad]\n3:"
				 : [bad] "=&r"(bad), [n] "+r"(n) : [p] "m"(vec_pat) : "cc", "xmm14");
	return bad;
}

static int mode_vector(void)
{
	int zmm = __builtin_cpu_supports("avx512f");
	unsigned long rounds = 0;

	if (!zmm && !__builtin_cpu_supports("avx")) {
		printf("novector\n");
		return 0;
	}
	ready();   /* libc uses them: filled after its last call */
	if (zmm)
		__asm__ volatile("vmovdqu64 %0, %%zmm16" :: "m"(vec_pat));
	else
		__asm__ volatile("vmovdqu %0, %%ymm15" :: "m"(vec_pat));
	while (!stop) {
		if (vec_check(zmm, 1 << 16)) {
			printf("VECTORLOST %s round %lu\n", zmm ? "zmm16" : "ymm15", rounds);
			return 1;
		}
		rounds++;
	}
	printf("ok %s rounds>0=%d\n", zmm ? "zmm16" : "ymm15", rounds > 0);
	return 0;
}

static int mode_pause(void)
{
	ready();
	while (!stop)
		pause();
	printf("usr1=%d rt=%d\n", (int)usr1, (int)rt);
	return 0;
}

/* The classic pattern: signals blocked, taken only inside sigsuspend.  The
 * real mask must survive an injection that lands inside sigsuspend. */
static int mode_sigsuspend(void)
{
	sigset_t block, empty, cur;

	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN);
	sigaddset(&block, SIGTERM);
	sigemptyset(&empty);
	sigprocmask(SIG_BLOCK, &block, NULL);
	ready();
	while (!stop) {
		sigsuspend(&empty);
		sigprocmask(SIG_BLOCK, NULL, &cur);
		if (!sigismember(&cur, SIGRTMIN) || !sigismember(&cur, SIGTERM)) {
			printf("MASKLOST\n");
			return 1;
		}
	}
	printf("usr1=%d rt=%d\n", (int)usr1, (int)rt);
	return 0;
}

/* Unsafe places the safe-point test must refuse, left only when a byte
 * comes on stdin: a function named like the allocator's (its name alone
 * makes it unsafe), and a signal handler. */
__attribute__((noinline, used)) void malloc_named_wait(void);
__attribute__((noinline, used)) void malloc_named_wait(void)
{
	char c;

	if (read(0, &c, 1) < 0)
		perror("read");
	__asm__ volatile("" ::: "memory");   /* not a tail call: this frame stays */
}

static void on_usr2_wait(int sig)
{
	char c;

	(void)sig;
	if (read(0, &c, 1) < 0)
		perror("read");
}

static void *free_thread(void *p)
{
	(void)p;
	for (;;)
		pause();
	return NULL;
}

/* 1: one thread, in malloc_named_wait; 2: that and a free thread; 3: one
 * thread, in a signal handler. */
static int mode_unsafe(long how)
{
	pthread_t t;

	if (how == 2)
		pthread_create(&t, NULL, free_thread, NULL);
	if (how == 3) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr2_wait;
		sigaction(SIGUSR2, &sa, NULL);
	}
	ready();
	if (how == 3)
		raise(SIGUSR2);
	else
		malloc_named_wait();
	printf("done\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long arg = argc > 2 ? atol(argv[2]) : 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "read"))
		return mode_read();
	if (!strcmp(mode, "sleep"))
		return mode_sleep(arg);
	if (!strcmp(mode, "epoll"))
		return mode_epoll();
	if (!strcmp(mode, "cond"))
		return mode_cond();
	if (!strcmp(mode, "malloc"))
		return mode_malloc((int)arg);
	if (!strcmp(mode, "regs"))
		return mode_regs();
	if (!strcmp(mode, "sigsuspend"))
		return mode_sigsuspend();
	if (!strcmp(mode, "pause"))
		return mode_pause();
	if (!strcmp(mode, "unsafe"))
		return mode_unsafe(arg);
	if (!strcmp(mode, "vector"))
		return mode_vector();
	fprintf(stderr, "usage: inj_target read|sleep MS|epoll|cond|malloc N|regs|pause|sigsuspend|unsafe 1-3|vector\n");
	return 2;
}

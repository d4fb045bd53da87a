/* itimer — a target whose interval timers signal it all the time, to check
 * that attaching and capturing leave its signals and system calls as they
 * would be (tests/integration/attach-itimer.sh).  setitimer(ITIMER_REAL)
 * sends SIGALRM every 2 ms and a timer_create timer SIGRTMIN every 3 ms,
 * both to the process; handlers without SA_RESTART.
 *
 * The main thread takes the signals (the injector stops the main thread
 * first): it sits in read() on a pipe nobody writes, which each handler
 * interrupts (EINTR).  A command thread, which blocks both signals, reads
 * commands from stdin (an EINTR there was caused by something else).
 * What it counts, for the test to compare with what untracked must be:
 *  - off_main: handlers run on another thread than main (the injector's
 *    loader thread or the agent's threads took a signal: never);
 *  - spurious: an EINTR of main's read() with no handler run since the
 *    read began (a stop or a restart of ours made it: never);
 *  - rt, rt_overrun, rt_expected: SIGRTMIN deliveries and the
 *    expirations each one stood for (si_overrun), against the expirations
 *    the timer had (final_count).  A tick lost or a handler run twice makes
 *    rt + rt_overrun differ from rt_expected.
 *   "alloc N"  N malloc(4242) + free, then "done N" on stdout
 *   "tick"     "tick ok" once main has handled 3 more SIGRTMIN, "tick stuck"
 *              when it has not within 5 s (its signals left blocked)
 *   "quit"     main stops taking SIGRTMIN, the last pending one is taken
 *              with sigtimedwait; prints {"alrm":..., "rt":..., ...}, exit
 * Nothing else allocates after "ready PID" (stdin read with read(), output
 * with write()), so a capture holds exactly the "alloc" rounds. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SIZE 4242
#define RT_PERIOD_NS 3000000L

static volatile sig_atomic_t alrm, rt, rt_overrun, off_main, handled, quit;
static pid_t main_tid;
static struct timespec t0;   /* the POSIX timer's start */
static long spurious, main_eintr_reads;

static void on_signal(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (syscall(SYS_gettid) != main_tid)
		off_main++;
	if (sig == SIGALRM)
		alrm++;
	else if (sig == SIGRTMIN) {
		rt++;
		rt_overrun += si->si_overrun;
	} else if (sig == SIGRTMIN + 1)
		quit = 1;
	handled++;
}

static void handle(int sig)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;   /* no SA_RESTART */
	sigaction(sig, &sa, NULL);
}

static long long ns_of(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static timer_t rt_timer;

static int start_timers(void)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	struct sigevent ev;
	struct itimerspec ts = { { 0, RT_PERIOD_NS }, { 0, 0 } };
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	if (timer_create(CLOCK_MONOTONIC, &ev, &rt_timer))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts.it_value.tv_sec = t0.tv_sec + (t0.tv_nsec + RT_PERIOD_NS) / 1000000000L;
	ts.it_value.tv_nsec = (t0.tv_nsec + RT_PERIOD_NS) % 1000000000L;
	return setitimer(ITIMER_REAL, &it, NULL) || timer_settime(rt_timer, TIMER_ABSTIME, &ts, NULL);
}

static int cmd_in;

/* One line from stdin (no stdio: it would allocate); 0 at end of file. */
static int read_line(char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		ssize_t k = read(cmd_in, buf + n, 1);
		if (k < 0 && errno == EINTR) {
			main_eintr_reads++;   /* this thread blocks both signals */
			continue;
		}
		if (k <= 0)
			return 0;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return 1;
}

static void say(const char *s)
{
	size_t n = strlen(s), off = 0;
	while (off < n) {
		ssize_t k = write(1, s + off, n - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			exit(3);
		off += (size_t)k;
	}
}

/* Main goes on handling SIGRTMIN: 3 more within 5 s (15 expected). */
static int ticking(void)
{
	long from = rt;
	struct timespec ms = { 0, 1000000L };
	for (int i = 0; i < 5000; i++) {
		if (rt >= from + 3)
			return 1;
		nanosleep(&ms, NULL);
	}
	return 0;
}

/* The command thread: allocations on demand; "quit" asks main to finish. */
static void *commands(void *arg)
{
	char line[128], out[128];
	(void)arg;
	while (read_line(line, sizeof line)) {
		long n;
		if (sscanf(line, "alloc %ld", &n) == 1) {
			for (long i = 0; i < n; i++) {
				void *volatile p = malloc(SIZE);
				free(p);
			}
			snprintf(out, sizeof out, "done %ld\n", n);
			say(out);
		} else if (!strcmp(line, "tick")) {
			say(ticking() ? "tick ok\n" : "tick stuck\n");
		} else if (!strcmp(line, "quit")) {
			kill(getpid(), SIGRTMIN + 1);   /* after any pending SIGRTMIN */
			return NULL;
		}
	}
	exit(1);
}

/* Main, at quit: SIGRTMIN blocked and every pending one taken (with its
 * overrun); then the timer's next expiry, as the kernel has it, names the
 * expirations so far: the k-th is due at T0 + k P, so the next one's k
 * less one have happened.  Its absolute time is read between two clock
 * readings, until both round to the same k. */
static long final_count(void)
{
	sigset_t rtset;
	siginfo_t si;
	struct timespec a, b, zero = { 0, 0 };
	struct itimerspec cur;
	sigemptyset(&rtset);
	sigaddset(&rtset, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &rtset, NULL);
	for (int tries = 0;; tries++) {
		while (sigtimedwait(&rtset, &si, &zero) == SIGRTMIN) {
			rt++;
			rt_overrun += si.si_overrun;
		}
		clock_gettime(CLOCK_MONOTONIC, &a);
		timer_gettime(rt_timer, &cur);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (sigtimedwait(&rtset, &si, &zero) == SIGRTMIN) {
			rt++;
			rt_overrun += si.si_overrun;
			continue;
		}
		long long rem = ns_of(&cur.it_value), base = ns_of(&t0);
		long long ka = (ns_of(&a) + rem - base + RT_PERIOD_NS / 2) / RT_PERIOD_NS;
		long long kb = (ns_of(&b) + rem - base + RT_PERIOD_NS / 2) / RT_PERIOD_NS;
		if (ka == kb || tries > 1000)
			return (long)kb - 1;
	}
}

int main(void)
{
	char out[512], c;
	static int idle[2];
	pthread_t th;
	sigset_t both, old;
	long expected, main_eintr = 0;
	main_tid = (pid_t)syscall(SYS_gettid);
	cmd_in = 0;
	handle(SIGALRM);
	handle(SIGRTMIN);
	handle(SIGRTMIN + 1);
	sigemptyset(&both);
	sigaddset(&both, SIGALRM);
	sigaddset(&both, SIGRTMIN);
	sigaddset(&both, SIGRTMIN + 1);
	/* the command thread is created with the signals blocked */
	pthread_sigmask(SIG_BLOCK, &both, &old);
	if (pipe(idle) || pthread_create(&th, NULL, commands, NULL))
		return 2;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (start_timers())
		return 2;
	snprintf(out, sizeof out, "ready %d\n", (int)getpid());
	say(out);
	while (!quit) {
		sig_atomic_t before = handled;
		if (read(idle[0], &c, 1) < 0 && errno == EINTR) {
			main_eintr++;
			if (handled == before)
				spurious++;
		}
	}
	expected = final_count();
	snprintf(out, sizeof out,
		 "{\"alrm\": %ld, \"rt\": %ld, \"rt_overrun\": %ld, \"rt_expected\": %ld, "
		 "\"sig_eintr\": %ld, \"spurious\": %ld, \"off_main\": %ld, \"main_eintr\": %ld}\n",
		 (long)alrm, (long)rt, (long)rt_overrun, expected, main_eintr, spurious,
		 (long)off_main, main_eintr_reads);
	say(out);
	return 0;
}

/* itimer — a target whose interval timers signal it all the time, to check
 * that attaching and capturing leave its system calls as they would be
 * (tests/integration/attach-itimer.sh).  setitimer(ITIMER_REAL) sends
 * SIGALRM every 2 ms and a timer_create timer SIGRTMIN every 3 ms, both to
 * the process; handlers without SA_RESTART.  A signal thread takes them
 * (its read() on a pipe nobody writes fails with EINTR each time); the
 * main thread blocks both, so no handler can interrupt its read() of
 * commands from stdin: an EINTR there was caused by something else (it
 * must stay 0; retried).
 *   "alloc N"  N malloc(4242) + free, then "done N" on stdout
 *   "quit"     {"alrm": A, "rt": R, "sig_eintr": S, "main_eintr": M}, exit
 * Nothing else allocates after "ready PID" (stdin read with read(), output
 * with write()), so a capture holds exactly the "alloc" rounds. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SIZE 4242

static volatile sig_atomic_t alrm, rt;
static atomic_long sig_eintr;

static void on_alrm(int s) { (void)s; alrm++; }
static void on_rt(int s) { (void)s; rt++; }

/* The thread the timers' signals go to (the main thread blocks them). */
static void *signal_thread(void *arg)
{
	int *fd = arg;
	char c;
	while (read(*fd, &c, 1) < 0 && errno == EINTR)
		sig_eintr++;
	return NULL;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;   /* no SA_RESTART */
	sigaction(sig, &sa, NULL);
}

static int start_timers(void)
{
	struct itimerval it = { { 0, 2000 }, { 0, 2000 } };
	struct sigevent ev;
	timer_t t;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	struct itimerspec ts = { { 0, 3000000 }, { 0, 3000000 } };
	return setitimer(ITIMER_REAL, &it, NULL) || timer_create(CLOCK_MONOTONIC, &ev, &t) ||
	       timer_settime(t, 0, &ts, NULL);
}

static long main_eintr;

/* One line from stdin (no stdio: it would allocate); 0 at end of file. */
static int read_line(char *buf, size_t len)
{
	size_t n = 0;
	while (n + 1 < len) {
		ssize_t k = read(0, buf + n, 1);
		if (k < 0 && errno == EINTR) {
			main_eintr++;
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

int main(void)
{
	char line[128], out[256];
	static int idle[2];
	pthread_t th;
	sigset_t both;
	handle(SIGALRM, on_alrm);
	handle(SIGRTMIN, on_rt);
	if (pipe(idle) || pthread_create(&th, NULL, signal_thread, &idle[0]))
		return 2;
	sigemptyset(&both);
	sigaddset(&both, SIGALRM);
	sigaddset(&both, SIGRTMIN);
	if (pthread_sigmask(SIG_BLOCK, &both, NULL) || start_timers())
		return 2;
	snprintf(out, sizeof out, "ready %d\n", (int)getpid());
	say(out);
	while (read_line(line, sizeof line)) {
		long n;
		if (sscanf(line, "alloc %ld", &n) == 1) {
			for (long i = 0; i < n; i++) {
				void *volatile p = malloc(SIZE);
				free(p);
			}
			snprintf(out, sizeof out, "done %ld\n", n);
			say(out);
		} else if (!strcmp(line, "quit")) {
			snprintf(out, sizeof out, "{\"alrm\": %ld, \"rt\": %ld, \"sig_eintr\": %ld, \"main_eintr\": %ld}\n",
				 (long)alrm, (long)rt, (long)sig_eintr, main_eintr);
			say(out);
			return 0;
		}
	}
	return 1;
}

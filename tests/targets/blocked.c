/* blocked.c — the main thread blocks in one call while a test attaches and
 * detaches memattach, then reports how that call returned, so the test can
 * check it returned once, normally, with the right data, at the right time.
 *
 * usage: blocked read|sleep|epoll|cond
 *   read   read(0) once (stdin is a pipe the test writes to)
 *   sleep  nanosleep(5 s) once, then read stdin to its end (the call may end
 *          before memattach does on a loaded machine: the process stays)
 *   epoll  epoll_wait(stdin, timeout -1) once, then read what is there
 *   cond   pthread_cond_wait until a helper thread has read stdin
 * Prints "blocking <pid>" just before the call and one line after it:
 *   returned rc=N errno=E elapsed=S at=T wakeups=W data=BYTES
 * (elapsed: CLOCK_MONOTONIC seconds in the call; at: CLOCK_REALTIME when it
 * returned; wakeups: returns of pthread_cond_wait).  No retry on EINTR: an
 * interrupted call must show. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static char data[4096];
static ssize_t data_len;

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			exit(98);
		s += w;
		n -= (size_t)w;
	}
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int have_data;

static void *reader(void *arg)
{
	(void)arg;
	ssize_t n;
	do
		n = read(0, data, sizeof(data) - 1);
	while (n < 0 && errno == EINTR);  /* this thread is not under test */
	pthread_mutex_lock(&mu);
	data_len = n < 0 ? 0 : n;
	have_data = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	char line[4096 + 256];
	long rc = 0;
	int err = 0, wakeups = 0, ep = -1;
	pthread_t th;
	struct epoll_event ev = { .events = EPOLLIN }, out;

	if (!strcmp(mode, "epoll")) {
		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0)
			return 97;
	} else if (!strcmp(mode, "cond")) {
		pthread_mutex_lock(&mu);
		if (pthread_create(&th, NULL, reader, NULL))
			return 97;
	} else if (strcmp(mode, "read") && strcmp(mode, "sleep")) {
		say("usage: blocked read|sleep|epoll|cond\n");
		return 2;
	}
	snprintf(line, sizeof(line), "blocking %ld\n", (long)getpid());
	say(line);

	double t0 = clock_s(CLOCK_MONOTONIC);
	errno = 0;
	if (!strcmp(mode, "read")) {
		rc = read(0, data, sizeof(data) - 1);
		err = errno;
		data_len = rc > 0 ? rc : 0;
	} else if (!strcmp(mode, "sleep")) {
		struct timespec ts = { 5, 0 }, rem = { 0, 0 };
		rc = nanosleep(&ts, &rem);
		err = errno;
	} else if (!strcmp(mode, "epoll")) {
		rc = epoll_wait(ep, &out, 1, -1);
		err = errno;
		if (rc == 1 && (out.events & EPOLLIN))
			data_len = read(0, data, sizeof(data) - 1);
	} else {
		while (!have_data) {
			rc = pthread_cond_wait(&cv, &mu);
			wakeups++;
			if (rc)
				break;
		}
		err = (int)rc;
		pthread_mutex_unlock(&mu);
	}
	double t1 = clock_s(CLOCK_MONOTONIC);
	double at = clock_s(CLOCK_REALTIME);
	if (data_len < 0)
		data_len = 0;
	data[data_len] = 0;
	data[strcspn(data, "\n")] = 0;
	snprintf(line, sizeof(line), "returned rc=%ld errno=%d elapsed=%.3f at=%.3f wakeups=%d data=%s\n",
		 rc, err, t1 - t0, at, wakeups, data);
	say(line);
	if (!strcmp(mode, "cond"))
		pthread_join(th, NULL);
	if (!strcmp(mode, "sleep")) {   /* alive until the test closes stdin */
		ssize_t k;
		do
			k = read(0, data, sizeof(data));
		while (k > 0 || (k < 0 && errno == EINTR));
	}
	return 0;
}

/* demo_service.c — a small "service" for the quick start: it answers fake
 * requests forever, and one of its code paths leaks.  memattach attaches
 * to it while it runs and shows which function holds the memory. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct session {
	char user[64];
	char *history;
	struct session *next;
};

static struct session *sessions;   /* never pruned: the leak */

/* Parses a request into a scratch buffer that is freed at once. */
static size_t parse_request(unsigned n)
{
	size_t len = 512 + (n % 8) * 256;
	char *buf = malloc(len);
	if (!buf)
		return 0;
	memset(buf, 'r', len);
	size_t sum = (size_t)buf[n % len];
	free(buf);
	return sum;
}

/* Remembers every session: grows without bound. */
static void remember_session(unsigned n)
{
	struct session *s = calloc(1, sizeof(*s));
	if (!s)
		return;
	snprintf(s->user, sizeof(s->user), "user%u", n);
	s->history = malloc(4096);
	if (s->history)
		memset(s->history, 'h', 4096);
	s->next = sessions;
	sessions = s;
}

/* Builds a response, caches the last one. */
static void render_response(unsigned n)
{
	static char *last;
	char *page = malloc(16384);
	if (!page)
		return;
	memset(page, 'p', 16384);
	free(last);
	last = page;
	(void)n;
}

static void handle_request(unsigned n)
{
	parse_request(n);
	if (n % 10 == 0)
		remember_session(n);
	render_response(n);
}

int main(int argc, char **argv)
{
	unsigned rate = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;   /* requests/s */
	struct timespec pause = {0, rate ? 1000000000L / rate : 500000L};
	printf("demo_service: pid %d, %u requests/s\n", (int)getpid(), rate);
	fflush(stdout);
	for (unsigned n = 0;; n++) {
		handle_request(n);
		nanosleep(&pause, NULL);
	}
}

/* test_kill.c — test hooks, read once per process:
 *  - MEMATTACH_TEST_KILL_AT_STEP=STEP[,NTH[,US]] SIGKILLs the tracer when
 *    it passes step STEP (enum ma_inj_step) for the NTH time (default 1),
 *    US microseconds later when given: the target must survive the tracer
 *    vanishing after every step;
 *  - MEMATTACH_TEST_STOP_AT_STEP=STEP[,NTH] SIGSTOPs the caller of
 *    ma_inject_library there: the target must not wait for it;
 *  - MEMATTACH_TEST_NO_LOADER_THREAD=1 hides the target's pthread_create
 *    (symbols.c): the old glibc's path, dlopen on the seized thread. */
#include "config.h"
#include "injector/inj_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void kill_self_after(long delay_us)
{
	struct sigevent sev;
	struct itimerspec its;
	timer_t t;

	if (delay_us <= 0)
		raise(SIGKILL);
	memset(&sev, 0, sizeof(sev));
	memset(&its, 0, sizeof(its));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGKILL;
	its.it_value.tv_sec = delay_us / 1000000;
	its.it_value.tv_nsec = (delay_us % 1000000) * 1000;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) || timer_settime(t, 0, &its, NULL))
		raise(SIGKILL);
}

pid_t ma_inj_caller;

struct hook {
	long step, nth, delay_us, count;
};

static void parse_hook(const char *name, struct hook *h)
{
	const char *e = getenv(name);
	char *end;

	h->nth = 1;
	if (!e)
		return;
	h->step = strtol(e, &end, 10);
	if (*end == ',')
		h->nth = strtol(end + 1, &end, 10);
	if (*end == ',')
		h->delay_us = strtol(end + 1, NULL, 10);
}

static int hook_hit(struct hook *h, enum ma_inj_step step)
{
	return h->step > 0 && (long)step == h->step && ++h->count == h->nth;
}

void ma_inj_checkpoint(enum ma_inj_step step)
{
	static struct hook kill_at, stop_at;
	static int read_env;

	if (!read_env) {
		read_env = 1;
		parse_hook("MEMATTACH_TEST_KILL_AT_STEP", &kill_at);
		parse_hook("MEMATTACH_TEST_STOP_AT_STEP", &stop_at);
	}
	if (hook_hit(&stop_at, step))
		kill(ma_inj_caller ? ma_inj_caller : getpid(), SIGSTOP);
	if (hook_hit(&kill_at, step))
		kill_self_after(kill_at.delay_us);
}

int ma_inj_test_no_loader_thread(void)
{
	const char *e = getenv("MEMATTACH_TEST_NO_LOADER_THREAD");

	return e && !strcmp(e, "1");
}

/* shell_env_hooks.c — system() and popen() by an attached process whose
 * session follows forks are followed into the shell and its command.
 *
 * glibc's system and popen start /bin/sh with __environ by a posix_spawn
 * inside libc (no GOT entry of ours on the way), and an attached
 * process's environ has neither LD_PRELOAD nor our configuration.  These
 * hooks put the two entries of exec_env.c into environ for the call, and
 * take them out when the last such call in flight returns.
 *
 * Why putenv/unsetenv and not a swapped environ array: glibc's unsetenv,
 * and setenv of a name already there, change the current array in place
 * under glibc's own lock.  Another thread doing so while system() waits
 * for its child would change our array, and a swap back would undo it;
 * a check before the swap races with that lock.  putenv and unsetenv take
 * that lock, so the program's own changes from any thread are kept, and
 * only our two names are touched.  The cost: the first call leaves environ
 * pointing at glibc's heap copy of the array (as any setenv does), same
 * entries in the same order; a program's own LD_PRELOAD entry is put back
 * as the very string it was.
 *
 * While a call is in flight other threads see the two entries (getenv),
 * as every process of run --follow-fork does; a thread's exec or spawn
 * then is followed, as it would be through exec_hooks.c.  A fork's child
 * takes them out of its copy at once (ma_shell_env_in_child).  Signals
 * are blocked while our lock is held: a handler's own system() must not
 * find it taken. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "agent_internal.h"

#define PRELOAD "LD_PRELOAD="
#define CONFIG MEMATTACH_AGENT_CONFIG_ENV "="

extern char **environ;

typedef int (*system_fn)(const char *);
typedef FILE *(*popen_fn)(const char *, const char *);

/* resolved by hooks.c */
void *ma_real_system, *ma_real_popen;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users;                    /* calls in flight with our entries in */
/* the entries given to putenv: environ points at them while users > 0 */
static char preload_s[8192], config_s[1400];
static char *prog_preload;           /* the program's LD_PRELOAD entry */

static void lock_take(sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&lock);
}

static void lock_drop(const sigset_t *old)
{
	pthread_mutex_unlock(&lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* Our two entries out of environ, the program's LD_PRELOAD back (each
 * only while it is still ours: the program may have set its own since). */
static void entries_out(void)
{
	const char *c = getenv(MEMATTACH_AGENT_CONFIG_ENV), *p = getenv("LD_PRELOAD");
	ma_tls.guard++;
	if (c == config_s + sizeof(CONFIG) - 1)
		unsetenv(MEMATTACH_AGENT_CONFIG_ENV);
	if (p == preload_s + sizeof(PRELOAD) - 1) {
		if (prog_preload)
			putenv(prog_preload);
		else
			unsetenv("LD_PRELOAD");
	}
	ma_tls.guard--;
}

/* Our entries in for one call; 1 when this call is to take them out after. */
static int entries_in(void)
{
	sigset_t old;
	int in = 0;
	if (!atomic_load(&ma_tracking) || !ma_cfg.follow)
		return 0;
	lock_take(&old);
	if (users > 0) {
		in = ++users;
	} else if (!getenv(MEMATTACH_AGENT_CONFIG_ENV) && ma_exec_env_follows()) {
		/* environ without our configuration, in a session that follows */
		const char *old_preload = getenv("LD_PRELOAD");
		prog_preload = old_preload ? (char *)old_preload - (sizeof(PRELOAD) - 1) : NULL;
		if (ma_exec_env_entries(old_preload, preload_s, sizeof preload_s, config_s, sizeof config_s) == 0) {
			ma_tls.guard++;
			int ok = putenv(config_s) == 0 && putenv(preload_s) == 0;
			ma_tls.guard--;
			if (ok)
				in = users = 1;
			else
				entries_out();
		}
	}
	lock_drop(&old);
	return in > 0;
}

static void entries_done(void)
{
	sigset_t old;
	lock_take(&old);
	if (--users == 0)
		entries_out();
	lock_drop(&old);
}

int ma_h_system(const char *cmd)
{
	if (!cmd || !entries_in())   /* system(NULL) asks whether a shell exists */
		return ((system_fn)ma_real_system)(cmd);
	int r = ((system_fn)ma_real_system)(cmd);
	entries_done();
	return r;
}

FILE *ma_h_popen(const char *cmd, const char *mode)
{
	if (!entries_in())
		return ((popen_fn)ma_real_popen)(cmd, mode);
	FILE *f = ((popen_fn)ma_real_popen)(cmd, mode);
	entries_done();
	return f;
}

/* A fork's child (one thread) while a call was in flight in its parent:
 * our entries out of its copy of environ, in place and without glibc's
 * lock (the fork may have left it held); our lock made anew. */
void ma_shell_env_in_child(void)
{
	pthread_mutex_init(&lock, NULL);
	if (!users)
		return;
	users = 0;
	char **w = environ;
	for (char **e = environ; e && *e; e++) {
		if (*e == config_s)
			continue;
		if (*e == preload_s) {
			if (!prog_preload)
				continue;
			*w++ = prog_preload;
		} else {
			*w++ = *e;
		}
	}
	if (w)
		*w = NULL;
}

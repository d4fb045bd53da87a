/* shell_env_hooks.c — system() and popen() by an attached process whose
 * session follows forks are followed into the shell and its command.
 *
 * glibc's system and popen start /bin/sh with __environ by a posix_spawn
 * inside libc (no GOT entry of ours on the way), and an attached
 * process's environ has neither LD_PRELOAD nor our configuration.  These
 * hooks give environ the two entries of exec_env.c for the call.
 *
 * Other threads may read environ meanwhile (getenv: localtime's TZ, a
 * spawn's child), and glibc's setenv and unsetenv take a lock we cannot
 * take.  So the entries go in by a swap, out by glibc's own calls:
 *  - in: environ is swapped (compare-and-swap) to an array of ours, the
 *    program's entries at the same places, ours at the end (a program's
 *    own LD_PRELOAD entry replaced in its place).  No array a reader may
 *    hold is changed or freed.
 *  - out, when the last call in flight returns: unsetenv of our
 *    configuration and LD_PRELOAD (or putenv of the program's own entry,
 *    the very string), under glibc's lock, in whatever array environ is
 *    by then: a setenv of the program's meanwhile changed ours in place or
 *    made glibc's copy of it, and is kept.  Ours being last, the program's
 *    entries do not move.  Then, when the array holds exactly the entries
 *    it was swapped from, environ is swapped back to that array.
 * A writer racing a swap (in its critical section on the array we copy
 * or leave) is caught by a barrier: an unsetenv of a name never set
 * waits for glibc's lock; if the array changed under us, the swap is
 * undone.  A fork's child takes our entries out of its copy at once
 * (ma_shell_env_in_child).  Signals are blocked while our lock is held:
 * a handler's own system() must not find it taken.  A call that never
 * returns to us (its thread cancelled in it, a handler's longjmp out of
 * it: a cleanup handler of ours ran only when the program loads libgcc_s,
 * likely as libunwind's _Unwind_* stand in for libgcc's in the agent's
 * scope) leaves them until the session's end (ma_shell_env_drop). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "agent.h"
#include "agent_internal.h"

#define PRELOAD "LD_PRELOAD="
#define CONFIG MEMATTACH_AGENT_CONFIG_ENV "="
#define BARRIER "MEMATTACH_AGENT_ENV_BARRIER"   /* never set */

extern char **environ;

typedef int (*system_fn)(const char *);
typedef FILE *(*popen_fn)(const char *, const char *);

/* resolved by hooks.c */
void *ma_real_system, *ma_real_popen;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int users;                    /* calls in flight with our entries in */
/* one per session end: a call that began before it takes nothing out */
static unsigned generation = 1;
static char preload_s[8192], config_s[1400];
static char *prog_preload;           /* the program's LD_PRELOAD entry */
static char **before;                /* the array environ was swapped from */
/* Two arrays of ours, used in turn (a reader of the last one has long
 * finished); one the program's environ still is is kept for good. */
static char **arrays[2];
static size_t slots[2];
static int turn;

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

/* Waits for any setenv, unsetenv or putenv in flight (glibc's lock). */
static void barrier(void)
{
	unsetenv(BARRIER);
}

static size_t count(char **env)
{
	size_t n = 0;
	while (env && env[n])
		n++;
	return n;
}

/* An array of ours with room for n entries and the NULL, and after it
 * the copy of the entries it was made from (snap). */
static char **array_for(size_t n, char ***snap)
{
	turn ^= 1;
	if (slots[turn] < 2 * (n + 1)) {
		size_t size = ((2 * n + 64) * sizeof(char *) + 4095) & ~(size_t)4095;
		char **a = ma_pages_alloc(size);
		if (!a)
			return NULL;
		arrays[turn] = a;   /* the old one stays mapped: a reader may hold it */
		slots[turn] = size / sizeof(char *);
	}
	*snap = arrays[turn] + n + 1;
	return arrays[turn];
}

static char **snap;       /* the entries environ had at the swap in */
static size_t snap_n;

/* Whether env holds exactly the entries of snap. */
static int same_as_snap(char **env)
{
	size_t i = 0;
	if (!env)   /* clearenv */
		return snap_n == 0;
	for (; i < snap_n; i++)
		if (env[i] != snap[i])
			return 0;
	return env[i] == NULL;
}

/* environ swapped to cur's entries and ours; 0, or -1 (left as it was). */
static int swap_in(void)
{
	char **cur = environ, **env;
	size_t n = count(cur), k, i;
	if (!(env = array_for(n + 2, &snap)))
		return -1;
	prog_preload = NULL;
	for (i = 0; i < n; i++) {
		snap[i] = env[i] = cur[i];
		if (!prog_preload && !strncmp(cur[i], PRELOAD, sizeof(PRELOAD) - 1))
			prog_preload = cur[i], env[i] = preload_s;
	}
	snap[n] = NULL;
	snap_n = n;
	k = n;
	env[k++] = config_s;
	if (!prog_preload)
		env[k++] = preload_s;
	env[k] = NULL;
	if (!__atomic_compare_exchange_n(&environ, &cur, env, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return -1;   /* glibc replaced it meanwhile */
	barrier();
	if (environ != env)
		return -1;   /* a setenv in flight made its own array from ours */
	if (same_as_snap(cur))
		return before = cur, 0;
	/* a writer changed cur in place after our copy: its change wins */
	__atomic_compare_exchange_n(&environ, &env, cur, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return -1;
}

/* Our entries out (each only while it is still ours), under glibc's lock. */
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

/* environ back to the array it was swapped from, when ours holds exactly
 * its entries (no change of the program's since).  The array itself is
 * not read: a setenv may have freed it (then environ is not ours). */
static void swap_out(void)
{
	char **ours = arrays[turn], **cur = ours;
	if (environ == ours && same_as_snap(ours) &&
	    __atomic_compare_exchange_n(&environ, &cur, before, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		barrier();
		if (same_as_snap(ours))
			return;
		/* a writer changed ours after the check: ours it stays */
		cur = before;
		__atomic_compare_exchange_n(&environ, &cur, ours, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
	if (environ == ours)   /* the program's environ now: never reused */
		arrays[turn] = NULL, slots[turn] = 0;
}

/* Our entries in for one call: the generation to give entries_done, or 0
 * when this call has nothing to take out after. */
static unsigned entries_in(void)
{
	sigset_t old;
	unsigned in = 0;
	if (!atomic_load(&ma_tracking) || !ma_cfg.follow)
		return 0;
	lock_take(&old);
	if (users > 0) {
		users++;
		in = generation;
	} else if (!getenv(MEMATTACH_AGENT_CONFIG_ENV) && ma_exec_env_follows()) {
		/* environ without our configuration, in a session that follows */
		ma_tls.guard++;
		if (ma_exec_env_entries(getenv("LD_PRELOAD"), preload_s, sizeof preload_s, config_s,
					sizeof config_s) == 0 && swap_in() == 0)
			users = 1, in = generation;
		ma_tls.guard--;
	}
	lock_drop(&old);
	return in;
}

static void entries_done(unsigned gen)
{
	sigset_t old;
	lock_take(&old);
	if (gen == generation && --users == 0) {
		entries_out();
		ma_tls.guard++;
		swap_out();
		ma_tls.guard--;
	}
	lock_drop(&old);
}

int ma_h_system(const char *cmd)
{
	unsigned gen;
	if (!cmd || !(gen = entries_in()))   /* system(NULL) asks whether a shell exists */
		return ((system_fn)ma_real_system)(cmd);
	int r = ((system_fn)ma_real_system)(cmd);
	entries_done(gen);
	return r;
}

FILE *ma_h_popen(const char *cmd, const char *mode)
{
	unsigned gen = entries_in();
	if (!gen)
		return ((popen_fn)ma_real_popen)(cmd, mode);
	FILE *f = ((popen_fn)ma_real_popen)(cmd, mode);
	entries_done(gen);
	return f;
}

/* The session's end: our entries out now (the agent's file goes with the
 * capture), also those of a call that never returned (its thread
 * cancelled in it, or a handler's longjmp out of it). */
void ma_shell_env_drop(void)
{
	sigset_t old;
	lock_take(&old);
	if (users > 0) {
		entries_out();
		ma_tls.guard++;
		swap_out();
		ma_tls.guard--;
		users = 0;
	}
	if (++generation == 0)
		generation = 1;
	lock_drop(&old);
}

/* A fork's child (one thread) while a call was in flight in its parent:
 * our entries out of its copy of environ, in place and without glibc's
 * lock (the fork may have left it held); our lock made anew. */
void ma_shell_env_in_child(void)
{
	pthread_mutex_init(&lock, NULL);
	for (int i = 0; i < 2; i++)
		if (environ == arrays[i])   /* its environ: never reused */
			arrays[i] = NULL, slots[i] = 0;
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

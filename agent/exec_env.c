/* exec_env.c — a followed child's exec is followed too.
 *
 * Under `run --follow-fork` every process inherits LD_PRELOAD and the
 * configuration from CMD's environment, so a program a child execs loads
 * the agent and connects.  An attached process (--pid P --follow-fork)
 * has neither: its followed children get them here, in the fork's child
 * handler (single-threaded, no lock taken: a new environ array of our own
 * pages, the strings beside it), so that an exec with the process's
 * environment (execv, execvp, posix_spawn, Python's subprocess) preloads
 * this agent's file with the parent's configuration and follow=1.  The
 * session's end takes them out again: the agent's file is removed when
 * the capture ends, and a later exec would make the loader complain on
 * the target's stderr.  exec_hooks.c gives the same two entries to an
 * exec with an environment of its own. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "agent_internal.h"

#define PRELOAD "LD_PRELOAD="
#define CONFIG MEMATTACH_AGENT_CONFIG_ENV "="
/* Marks a configuration given for an exec: its session's end drops it. */
#define EXEC_KEY "execenv=1"

extern char **environ;

static char config[1024];         /* the session's configuration, as given */
static char **env_before, **env_ours;
static size_t env_pages;
static const char *our_preload;   /* "LD_PRELOAD=..." in env_ours */
static const char *our_config;

/* agentfile=: the copy memattach keeps for execs in a container whose
 * agent was loaded from a copy since removed (cli/cmd/attach.c) */
static char given_file[512];
/* this agent's file as the process loaded it, found at a session's start:
 * dladdr takes the loader's lock, which a fork's child (where exec_hooks.c
 * and ma_exec_env_in_child run) may find held by a thread it does not have */
static char loaded_file[512];

void ma_exec_env_keep_config(const char *cfg)
{
	Dl_info di;
	loaded_file[0] = 0;
	if (dladdr((void *)ma_exec_env_keep_config, &di) && di.dli_fname && di.dli_fname[0] == '/' &&
	    strncmp(di.dli_fname, "/proc/", 6) && strlen(di.dli_fname) < sizeof(loaded_file))
		snprintf(loaded_file, sizeof(loaded_file), "%s", di.dli_fname);
	snprintf(config, sizeof(config), "%s", cfg ? cfg : "");
	const char *k = strstr(config, "agentfile=");
	size_t n = k ? strcspn(k + 10, ";") : 0;
	given_file[0] = 0;
	if (k && n < sizeof(given_file))
		snprintf(given_file, sizeof(given_file), "%.*s", (int)n, k + 10);
}

/* The agent's file for an exec: the one memattach gave, else this
 * agent's file as the process loaded it; NULL when an exec could not load
 * it by that name (a descriptor's path, gone, unreadable). */
static const char *agent_file(void)
{
	if (given_file[0] == '/' && access(given_file, R_OK) == 0)
		return given_file;
	return loaded_file[0] && access(loaded_file, R_OK) == 0 ? loaded_file : NULL;
}

/* The new environ: ours first, then every entry but the two we replace. */
static int build(const char *preload, const char *cfg)
{
	const char *old_preload = getenv("LD_PRELOAD");
	size_t n = 0, slen = strlen(preload) + strlen(cfg) + 256 +
			     (old_preload ? strlen(old_preload) : 0);
	for (char **e = environ; e && *e; e++)
		n++;
	size_t size = (n + 3) * sizeof(char *) + sizeof(PRELOAD) + sizeof(CONFIG) + slen;
	size = (size + 4095) & ~(size_t)4095;
	char **env = ma_pages_alloc(size);
	if (!env)
		return -1;
	char *s = (char *)(env + n + 3);
	size_t k = 0;
	env[k++] = s;
	our_preload = s;
	s += sprintf(s, PRELOAD "%s%s%s", preload, old_preload ? ":" : "", old_preload ? old_preload : "") + 1;
	env[k++] = s;
	our_config = s;
	sprintf(s, CONFIG "%s;attached=0;inproc=0;follow=1;pid=%ld;" EXEC_KEY, cfg, (long)getpid());
	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, PRELOAD, sizeof(PRELOAD) - 1) && strncmp(*e, CONFIG, sizeof(CONFIG) - 1))
			env[k++] = *e;
	env[k] = NULL;
	env_before = environ;
	env_ours = environ = env;
	env_pages = size;
	return 0;
}

void ma_exec_env_in_child(void)
{
	const char *file;
	env_ours = NULL;
	our_preload = our_config = NULL;
	/* run's tree has them already; an exec'd program's own config too */
	if (getenv(MEMATTACH_AGENT_CONFIG_ENV) || !config[0] || !(file = agent_file()))
		return;
	if (strlen(config) + 128 > sizeof(config))
		return;   /* would not fit the constructor's copy */
	build(file, config);
}

/* LD_PRELOAD without this agent's file (first in the list, as we put it). */
static void drop_preload(const char *file)
{
	const char *v = getenv("LD_PRELOAD");
	size_t fl = file ? strlen(file) : 0;
	if (!v || !fl || strncmp(v, file, fl) || (v[fl] && v[fl] != ':'))
		return;
	if (v[fl] == ':' && v[fl + 1]) {
		char rest[4096];
		snprintf(rest, sizeof(rest), "%s", v + fl + 1);
		setenv("LD_PRELOAD", rest, 1);
	} else {
		unsetenv("LD_PRELOAD");
	}
}

void ma_exec_env_drop(void)
{
	if (env_ours && environ == env_ours) {
		/* unchanged since: the process's own array back (ours stays
		 * mapped: another thread may be reading it) */
		environ = env_before;
	} else if (env_ours || strstr(config, EXEC_KEY)) {
		/* changed by the program since, or given to this exec'd
		 * program: take out what we put in */
		const char *c = getenv(MEMATTACH_AGENT_CONFIG_ENV);
		if (c && strstr(c, EXEC_KEY)) {
			ma_tls.guard++;
			drop_preload(agent_file());
			unsetenv(MEMATTACH_AGENT_CONFIG_ENV);
			ma_tls.guard--;
		}
	}
	env_ours = NULL;
}

/* An attached process whose session follows forks has no configuration
 * in its environment: its own execs with an environment of their own,
 * and those of its vfork children (posix_spawn, Python's subprocess),
 * which run no fork handler, get the session's, as a followed child's
 * environ has it (build). */
static int attached_follows(void)
{
	return ma_cfg.follow && config[0] && !strstr(config, EXEC_KEY);
}

int ma_exec_env_follows(void)
{
	const char *c = getenv(MEMATTACH_AGENT_CONFIG_ENV);
	return c ? strstr(c, "follow=1") != NULL : attached_follows();
}

/* The entries an exec with this process's environment would carry, for
 * one given another (exec_hooks.c): the configuration as it is here, and
 * LD_PRELOAD with this agent's file (only: the program's other preloads
 * were its own choice to keep or drop) before the exec's own. */
int ma_exec_env_entries(const char *old_preload, char *preload, size_t plen, char *cfg, size_t clen)
{
	const char *file = agent_file(), *c = getenv(MEMATTACH_AGENT_CONFIG_ENV);
	if (!file || (!c && !attached_follows()))
		return -1;
	int n = snprintf(preload, plen, PRELOAD "%s%s%s", file, old_preload && *old_preload ? ":" : "",
			 old_preload ? old_preload : "");
	int m = c ? snprintf(cfg, clen, CONFIG "%s", c)
		  : snprintf(cfg, clen, CONFIG "%s;attached=0;inproc=0;follow=1;pid=%ld;" EXEC_KEY, config,
			     (long)getpid());
	return n < 0 || (size_t)n >= plen || m < 0 || (size_t)m >= clen ? -1 : 0;
}

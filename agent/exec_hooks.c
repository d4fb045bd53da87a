/* exec_hooks.c — an exec with an environment of the program's own is
 * followed too.
 *
 * A followed process whose execs load the agent from its environment
 * (run --follow-fork's tree, a followed child of an attached process:
 * exec_env.c) loses it when the program gives the exec an environment of
 * its own (execve, execle, execvpe, execveat, fexecve, posix_spawn[p]:
 * `env -i`, Python's subprocess with env=, a server's sanitised
 * environment).  These hooks (GOT entries, like the allocator's) give such
 * an environment the two entries of ours (LD_PRELOAD first, the
 * configuration) unless it has our configuration already.
 *
 * The new array is on the stack: execve may run in a vfork child, whose
 * memory is its parent's (an mmap there would stay in the parent). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "agent_internal.h"

#define PRELOAD "LD_PRELOAD="
#define CONFIG MEMATTACH_AGENT_CONFIG_ENV "="
#define MAX_ENTRIES 65536   /* more: left as it is (the stack) */

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*spawn_fn)(pid_t *, const char *, const void *, const void *, char *const[], char *const[]);

/* resolved by hooks.c (ma_hooks_resolve), like the allocator's */
void *ma_real_execve, *ma_real_execvpe, *ma_real_execveat, *ma_real_fexecve,
	*ma_real_posix_spawn, *ma_real_posix_spawnp, *ma_real_execle;
#define real_execve ((execve_fn)ma_real_execve)
#define real_execvpe ((execve_fn)ma_real_execvpe)
#define real_execveat ((execveat_fn)ma_real_execveat)
#define real_fexecve ((fexecve_fn)ma_real_fexecve)
#define real_spawn ((spawn_fn)ma_real_posix_spawn)
#define real_spawnp ((spawn_fn)ma_real_posix_spawnp)

/* Entries in envp, or -1 when it is not to be changed: not followed, no
 * entries of ours to give, ours there already, too many. */
static long entries_to_extend(char *const envp[], const char **old_preload)
{
	long n = 0;
	if (!envp || !atomic_load(&ma_tracking) || !ma_cfg.follow || !ma_exec_env_follows())
		return -1;
	*old_preload = NULL;
	for (; envp[n]; n++) {
		if (!strncmp(envp[n], CONFIG, sizeof(CONFIG) - 1) || n >= MAX_ENTRIES)
			return -1;
		if (!strncmp(envp[n], PRELOAD, sizeof(PRELOAD) - 1))
			*old_preload = envp[n] + sizeof(PRELOAD) - 1;
	}
	return n;
}

/* env (n + 3 slots): ours first, then envp but its LD_PRELOAD, which
 * follows ours in the one we give.  0, or -1 when there is nothing to
 * give (the agent's file unusable by name). */
static int extend(char *const envp[], long n, const char *old_preload, char **env,
		  char *preload, size_t plen, char *config, size_t clen)
{
	if (ma_exec_env_entries(old_preload, preload, plen, config, clen) < 0)
		return -1;
	long k = 0;
	env[k++] = preload;
	env[k++] = config;
	for (long i = 0; i < n; i++)
		if (strncmp(envp[i], PRELOAD, sizeof(PRELOAD) - 1))
			env[k++] = envp[i];
	env[k] = NULL;
	return 0;
}

/* Runs CALL with ENVP extended when it is to be (ENV names the array). */
#define WITH_AGENT_ENV(envp, CALL)                                                        \
	do {                                                                              \
		const char *old_ = NULL;                                                  \
		long n_ = entries_to_extend(envp, &old_);                                 \
		if (n_ >= 0) {                                                            \
			char *env_[n_ + 3];                                               \
			char pre_[8192], cfg_[1400];                                      \
			if (extend(envp, n_, old_, env_, pre_, sizeof pre_, cfg_, sizeof cfg_) == 0) { \
				char *const *ENV = env_;                                  \
				return CALL;                                              \
			}                                                                 \
		}                                                                         \
		char *const *ENV = envp;                                                  \
		return CALL;                                                              \
	} while (0)

int ma_h_execve(const char *path, char *const argv[], char *const envp[])
{
	WITH_AGENT_ENV(envp, real_execve(path, argv, ENV));
}

int ma_h_execvpe(const char *file, char *const argv[], char *const envp[])
{
	WITH_AGENT_ENV(envp, real_execvpe(file, argv, ENV));
}

int ma_h_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	WITH_AGENT_ENV(envp, real_execveat(dirfd, path, argv, ENV, flags));
}

int ma_h_fexecve(int fd, char *const argv[], char *const envp[])
{
	WITH_AGENT_ENV(envp, real_fexecve(fd, argv, ENV));
}

/* fa, at: posix_spawn's (void * in agent_internal.h, which has no spawn.h) */
int ma_h_posix_spawn(pid_t *pid, const char *path, const void *fa, const void *at,
		     char *const argv[], char *const envp[])
{
	WITH_AGENT_ENV(envp, real_spawn(pid, path, fa, at, argv, ENV));
}

int ma_h_posix_spawnp(pid_t *pid, const char *file, const void *fa, const void *at,
		      char *const argv[], char *const envp[])
{
	WITH_AGENT_ENV(envp, real_spawnp(pid, file, fa, at, argv, ENV));
}

/* execle(path, arg0, ..., NULL, envp): its arguments as execve's. */
int ma_h_execle(const char *path, const char *arg, ...)
{
	va_list ap;
	long n = 1;
	va_start(ap, arg);
	while (va_arg(ap, const char *))
		n++;
	va_end(ap);
	if (n > MAX_ENTRIES || !real_execve) {
		errno = n > MAX_ENTRIES ? E2BIG : ENOSYS;
		return -1;
	}
	char *argv[n + 1];
	argv[0] = (char *)arg;
	va_start(ap, arg);
	for (long i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *);   /* the last: NULL */
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return ma_h_execve(path, argv, envp);
}

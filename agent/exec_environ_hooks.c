/* exec_environ_hooks.c — an exec with the process's own environment by a
 * process whose environment does not carry the agent: the attached master
 * of a --follow-fork session (memattach --pid P --follow-fork).
 *
 * A followed child gets LD_PRELOAD and the configuration in its environ
 * (exec_env.c), and run's tree has them from CMD's environment, so their
 * execv, execvp, execl and execlp load the agent as they are.  The
 * attached process itself has neither, and glibc's execv & co. call
 * execve inside libc (no GOT entry of ours on the way).  So these entry
 * points, hooked in the program's GOT like the allocator's, are execve
 * and execvpe with environ, which exec_hooks.c extends when the session
 * follows forks (and leaves alone when the entries are there already). */
#include <errno.h>
#include <stdarg.h>
#include <unistd.h>
#include "agent.h"
#include "agent_internal.h"

#define MAX_ARGS 65536   /* more: E2BIG (the array is on the stack) */

extern char **environ;

typedef int (*execv_fn)(const char *, char *const[]);

/* resolved by hooks.c, used only when execve or execvpe is not */
void *ma_real_execv, *ma_real_execvp, *ma_real_execl, *ma_real_execlp;

int ma_h_execv(const char *path, char *const argv[])
{
	if (!ma_real_execve)
		return ((execv_fn)ma_real_execv)(path, argv);
	return ma_h_execve(path, argv, environ);
}

int ma_h_execvp(const char *file, char *const argv[])
{
	if (!ma_real_execvpe)
		return ((execv_fn)ma_real_execvp)(file, argv);
	return ma_h_execvpe(file, argv, environ);
}

/* execl(path, arg0, ..., NULL): the arguments as an array on the stack
 * (execl may run in a vfork child, as execve). */
#define WITH_ARGV(arg, ARGV, CALL)                                       \
	do {                                                             \
		va_list ap_;                                             \
		long n_ = 1;                                             \
		va_start(ap_, arg);                                      \
		while (n_ <= MAX_ARGS && va_arg(ap_, const char *))      \
			n_++;                                            \
		va_end(ap_);                                             \
		if (n_ > MAX_ARGS) {                                     \
			errno = E2BIG;                                   \
			return -1;                                       \
		}                                                        \
		char *ARGV[n_ + 1];                                      \
		ARGV[0] = (char *)arg;                                   \
		va_start(ap_, arg);                                      \
		for (long i_ = 1; i_ <= n_; i_++)                        \
			ARGV[i_] = va_arg(ap_, char *); /* last: NULL */ \
		va_end(ap_);                                             \
		return CALL;                                             \
	} while (0)

int ma_h_execl(const char *path, const char *arg, ...)
{
	WITH_ARGV(arg, argv, ma_h_execv(path, argv));
}

int ma_h_execlp(const char *file, const char *arg, ...)
{
	WITH_ARGV(arg, argv, ma_h_execvp(file, argv));
}

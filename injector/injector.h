/* injector.h — load a shared library into a running process with ptrace.
 *
 * Two levels:
 *  - ma_inject_library(): the whole job (preflight, seize one thread at a
 *    safe point, dlopen + dlsym + entry(arg) in the target, restore, release);
 *  - the pieces, for callers that need more control: ma_inj_check_target,
 *    ma_inj_seize, ma_inj_find_safe_point, ma_inj_push_data, ma_inj_call,
 *    ma_inj_release.
 * Only one thread of the target is stopped; the others keep running.
 * Paths given to the target (so_path) are resolved in the target's own
 * mount namespace; the injector reads the target's files through
 * /proc/PID/root so that containers work.  x86_64 only for now (arch.h).
 *
 * Every call returns through an rt_sigreturn frame that gives the thread
 * back its registers, FP state and signal mask by itself (safe_return.c):
 * the caller may die (SIGKILL) at any instant and the target runs on.
 *
 * Limits: glibc targets only (musl: no); Linux >= 5.3 (PTRACE_GETSIGMASK
 * returning the saved mask of a thread inside sigsuspend/ppoll/pselect,
 * PTRACE_GET_SYSCALL_INFO); the target must leave one of SIGURG, SIGWINCH,
 * SIGCHLD uncaught (the stub's signal); epoll_wait interrupted by our stop
 * is restarted with its full timeout; in a process stopped by SIGSTOP only
 * the borrowed thread runs, so a dlopen that needs a lock another stopped
 * thread holds times out (10 s) and is left to finish when the process
 * continues. */
#ifndef MEMATTACH_INJECTOR_H
#define MEMATTACH_INJECTOR_H

#include <sys/types.h>

enum ma_inj_code {
	MA_INJ_OK = 0,
	MA_INJ_ERR_SYSTEM,        /* internal error, out of memory */
	MA_INJ_ERR_NO_PROCESS,    /* no such process */
	MA_INJ_ERR_ZOMBIE,        /* target is a zombie */
	MA_INJ_ERR_KERNEL_THREAD, /* target is a kernel thread */
	MA_INJ_ERR_SELF,          /* target is this process */
	MA_INJ_ERR_NOT_PERMITTED, /* ptrace not permitted (uid, yama, dumpable) */
	MA_INJ_ERR_STATIC,        /* static binary / no dynamic loader / no glibc */
	MA_INJ_ERR_NO_LIBRARY,    /* the library to load is not visible to the target */
	MA_INJ_ERR_NO_SAFE_POINT, /* no thread found outside malloc/loader/handlers */
	MA_INJ_ERR_SYMBOL,        /* dlopen/dlsym/entry symbol not found */
	MA_INJ_ERR_DLOPEN,        /* dlopen failed in the target (message in msg) */
	MA_INJ_ERR_CALL,          /* a remote call crashed or timed out */
	MA_INJ_ERR_TARGET_GONE,   /* target exited during the work */
	MA_INJ_ERR_SECCOMP,       /* the target's seccomp filter forbids a call the attach needs */
	MA_INJ_ERR_LIMIT,         /* the target could not give the attach a page or a thread
				   * (RLIMIT_AS, RLIMIT_NPROC, pids.max): nothing was left in it */
};

struct ma_inj_error {
	int code;        /* enum ma_inj_code */
	int sys_errno;   /* errno behind it, 0 if none */
	char msg[512];   /* one line: the problem and what to do */
};

/* Preflight: existence, zombie, kernel thread, self, permission (uid,
 * CAP_SYS_PTRACE, kernel.yama.ptrace_scope), dynamic loader + glibc present.
 * Returns 0 or the error code (also in err). */
int ma_inj_check_target(pid_t pid, struct ma_inj_error *err);

/* 1 when a file that is so_path (as seen by the target) is mapped in the
 * target, 0 when not, -1 when the target's maps cannot be read. */
int ma_inj_library_loaded(pid_t pid, const char *so_path);

/* 0 when the target can read so_path (in its root; /proc/self/fd/N as
 * its own descriptor N), else the errno why not (target_view.c). */
int ma_inj_visible_to(pid_t pid, const char *so_path);

/* The target's seccomp mode (Seccomp: in /proc/PID/status): 0 none,
 * 1 strict, 2 filter; 0 when unreadable. */
int ma_inj_seccomp_mode(pid_t pid);

/* Seccomp strict mode, or a filter (read when we are root) that does
 * not allow one of the syscalls the attach makes in the target (with
 * memfd: memfd_create too): MA_INJ_ERR_SECCOMP naming it (and the thread,
 * when its filters are its own); else 0.  Stops each thread with a filter
 * briefly, one at a time, to read them (seccomp.c). */
int ma_inj_check_seccomp(pid_t pid, int memfd, struct ma_inj_error *err);
struct ma_inj;
/* The thread inj moves to for its calls must allow the memfd load's too. */
void ma_inj_judge_memfd(struct ma_inj *inj);

/* 1 when our user owns a user namespace the target is in, below ours
 * (rootless containers): the kernel lets us trace it whatever its uid. */
int ma_inj_owns_user_ns(pid_t pid);

struct ma_inj;   /* one seized thread */

/* PTRACE_SEIZE + PTRACE_INTERRUPT one thread: tid, or the main thread when
 * tid is 0.  A target found stopped (SIGSTOP) is left stopped on release;
 * signals arriving meanwhile are passed on, not lost. */
int ma_inj_seize(pid_t pid, pid_t tid, struct ma_inj **inj, struct ma_inj_error *err);

/* Leaves the seized thread stopped where no frame is in malloc & co, the
 * dynamic loader, fork, or a signal handler: unwinds it, and if unsafe lets it
 * run a few ms and retries, moving to the other threads too, for at most
 * timeout_ms.  Returns 0 or MA_INJ_ERR_NO_SAFE_POINT. */
int ma_inj_find_safe_point(struct ma_inj *inj, int timeout_ms, struct ma_inj_error *err);

/* Copies len bytes onto the seized thread's stack (below the red zone; the
 * bytes it overwrites are restored on release) and returns their address in
 * the target, or 0 on error.  Valid until release. */
unsigned long ma_inj_push_data(struct ma_inj *inj, const void *data, size_t len,
			       struct ma_inj_error *err);
unsigned long ma_inj_push_string(struct ma_inj *inj, const char *s, struct ma_inj_error *err);

/* Calls func(args[0..nargs-1]) (integer/pointer args, nargs <= 6) on the
 * seized thread, with all asynchronous signals blocked, and stores the raw
 * return register in *ret.  Registers are restored on release.  The first
 * call into a process maps a one-page stub there, which stays (later
 * injections reuse it).  A call
 * that does not return within timeout_ms (<= 0: 10 s) is left to finish
 * on its own, untraced: inj is then only good for ma_inj_release. */
int ma_inj_call(struct ma_inj *inj, unsigned long func, const unsigned long *args,
		int nargs, unsigned long *ret, int timeout_ms, struct ma_inj_error *err);

/* Reads a NUL-terminated string from the target (at most size-1 bytes). */
int ma_inj_read_string(struct ma_inj *inj, unsigned long addr, char *buf, size_t size);

/* The thread currently seized (may change in ma_inj_find_safe_point). */
pid_t ma_inj_tid(const struct ma_inj *inj);

/* Restores registers, signal mask and stack bytes, detaches (re-injecting a
 * pending signal), leaves a stopped target stopped, frees inj.  Returns 0 or
 * -1 when the restore failed (the target may have exited). */
int ma_inj_release(struct ma_inj *inj);

/* Addresses in the target of the loader entry points, from its libc's
 * .dynsym (read through /proc/PID/root) + load bias from /proc/PID/maps. */
struct ma_inj_syms {
	unsigned long dlopen;      /* dlopen, or __libc_dlopen_mode (glibc < 2.34) */
	unsigned long dlopen_flag; /* extra mode bits for __libc_dlopen_mode */
	unsigned long dlsym;       /* dlsym, or __libc_dlsym */
	unsigned long dlerror;     /* 0 when not available */
	/* for the loader thread; 0 when not found (dlopen then runs on the
	 * seized thread) */
	unsigned long pthread_create, pthread_self, pthread_detach, munmap;
};
int ma_inj_resolve_loader(pid_t pid, struct ma_inj_syms *syms, struct ma_inj_error *err);

/* Address of a defined function symbol in the target: looks in the first
 * mapped module whose file name starts with module_prefix (e.g. "libc.so"),
 * or in every module when module_prefix is NULL. */
int ma_inj_lookup(pid_t pid, const char *module_prefix, const char *symbol,
		  unsigned long *addr, struct ma_inj_error *err);

struct ma_inj_stats {
	double total_ms;     /* whole ma_inject_library call */
	double stopped_ms;   /* the stop of the thread that ran the calls, at most
			      * (its interrupt .. release; a safe-point retry's
			      * earlier stops are one unwind each) */
	int attempts;        /* safe-point attempts (1 = first try) */
	pid_t tid;           /* thread that ran the calls */
	int already_loaded;  /* the library was mapped before this call */
	int on_own_thread;   /* dlopen ran on a loader thread, not the seized one */
	int no_pthread;      /* the target has no pthread_create to call (glibc < 2.34
			      * without libpthread): dlopen ran on the seized thread */
};

/* The whole job: dlopen(so_path, RTLD_NOW) in the target, dlsym(handle,
 * entry_symbol), then entry_symbol(arg) — an `int f(const char *)` — whose
 * result goes to *entry_result.  arg may be NULL.  A library already loaded
 * is reused (dlopen returns the same handle, constructors do not run
 * again).  stats may be NULL.  entry_symbol NULL: the library only, arg
 * its soname (not loaded when one of that soname is) or NULL.
 * The work is done by a child process (the tracer), which dies with the
 * calling thread and ignores Ctrl-Z; the caller waits for it at most
 * ~38 s and kills it when it finds it stopped, so a stopped caller or
 * tracer never holds the target for long.
 * What the entry point must know: it runs on a loader thread the injector
 * starts in the target (load_thread.c; on the borrowed thread itself in a
 * stopped process or an old glibc without libpthread loaded), with every
 * asynchronous signal blocked (threads it creates inherit that mask); arg
 * lives only until the entry returns (copy it); it should return quickly
 * (10 s limit). */
int ma_inject_library(pid_t pid, const char *so_path, const char *entry_symbol,
		      const char *arg, long *entry_result, struct ma_inj_error *err);
int ma_inject_library_stats(pid_t pid, const char *so_path, const char *entry_symbol,
			    const char *arg, long *entry_result,
			    struct ma_inj_stats *stats, struct ma_inj_error *err);

#endif

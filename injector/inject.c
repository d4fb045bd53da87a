/* inject.c — the whole job: dlopen a library in the target and call its
 * entry point, with the target stopped as briefly as possible (the seized
 * thread only starts a thread that does it: load_thread.c), from a child
 * process of the caller (the tracer) whose time the caller bounds. */
#include "config.h"
#include "injector/inj_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 10000
#define SAFE_POINT_MS 2000
#define LOAD_WAIT_MS (2 * CALL_TIMEOUT_MS)   /* dlopen and the entry, on the loader thread */
/* Every wait of the tracer is bounded (safe point, three calls on the
 * seized thread, or two short ones and the loader thread's LOAD_WAIT_MS;
 * the stub's two; when the loader thread's dlopen lacked memory, the
 * stub unmapped later: 1 s, a safe point, one call); past this the
 * caller kills the tracer. */
#define TRACER_BOUND_MS (2 * SAFE_POINT_MS + 4 * CALL_TIMEOUT_MS + 7000)

static int run_calls(struct ma_inj *inj, const struct ma_inj_syms *syms, const char *so_path,
		     const char *entry_symbol, const char *arg, long *entry_result,
		     struct ma_inj_error *err)
{
	unsigned long a[2], handle = 0, entry, ret, s_path, s_entry = 0, s_arg = 0;
	int rc;

	if (!(s_path = ma_inj_push_string(inj, so_path, err)) ||
	    (entry_symbol && !(s_entry = ma_inj_push_string(inj, entry_symbol, err))) ||
	    (arg && !(s_arg = ma_inj_push_string(inj, arg, err))))
		return err ? err->code : MA_INJ_ERR_CALL;
	if (!entry_symbol && arg) {   /* a library only: not when one of its soname is loaded */
		a[0] = s_arg;
		a[1] = RTLD_LAZY | RTLD_NOLOAD | syms->dlopen_flag;
		if ((rc = ma_inj_call(inj, syms->dlopen, a, 2, &handle, CALL_TIMEOUT_MS, err)) != 0 || handle)
			return rc;
	}
	a[0] = s_path;
	a[1] = RTLD_NOW | syms->dlopen_flag;
	if ((rc = ma_inj_call(inj, syms->dlopen, a, 2, &handle, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (!handle) {
		char msg[400] = "no message (dlerror not available)";
		unsigned long m = 0;

		if (syms->dlerror && ma_inj_call(inj, syms->dlerror, NULL, 0, &m, CALL_TIMEOUT_MS, NULL) == 0 &&
		    m)
			ma_inj_read_string(inj, m, msg, sizeof(msg));
		return ma_inj_fail(err, MA_INJ_ERR_DLOPEN, 0, "dlopen(%s) failed in process %d: %s",
				   so_path, (int)inj->pid, msg);
	}
	if (!entry_symbol)
		return 0;
	a[0] = handle;
	a[1] = s_entry;
	if ((rc = ma_inj_call(inj, syms->dlsym, a, 2, &entry, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (!entry)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "%s has no symbol %s (loaded in process %d): wrong library?", so_path,
				   entry_symbol, (int)inj->pid);
	a[0] = s_arg;
	if ((rc = ma_inj_call(inj, entry, a, 1, &ret, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (entry_result)
		*entry_result = (long)(int)ret;   /* the entry returns an int */
	return 0;
}

static int inject_here(pid_t pid, const char *so_path, const char *entry_symbol,
		       const char *arg, long *entry_result,
		       struct ma_inj_stats *stats, struct ma_inj_error *err)
{
	double t0 = ma_inj_now_ms(), t_seize = 0;
	char path[PATH_MAX + 64];
	struct ma_inj_syms syms;
	struct ma_inj *inj = NULL;
	struct ma_load_req req = { &syms, so_path, entry_symbol, arg, 0 };
	unsigned long new_stub = 0;
	int rc, threaded;

	if (!so_path || so_path[0] != '/')
		return ma_inj_fail(err, MA_INJ_ERR_NO_LIBRARY, EINVAL,
				   "the library path must be absolute (got %s)", so_path ? so_path : "none");
	if ((rc = ma_inj_check_target(pid, err)) != 0)
		return rc;
	/* The target opens so_path in its own mount namespace. */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, so_path);
	/* a library loaded before is found by its name, even when its file
	 * is gone (a container's copy is removed once loaded) */
	if ((errno = ma_inj_visible_to(pid, so_path)) != 0 && ma_inj_library_loaded(pid, so_path) != 1)
		return ma_inj_fail(err, MA_INJ_ERR_NO_LIBRARY, errno,
				   "%s is not visible to process %d (%s): place it where the process "
				   "can read it (containers: inside its root)", so_path, (int)pid,
				   strerror(errno));
	if (stats)
		stats->already_loaded = ma_inj_library_loaded(pid, so_path) == 1;
	/* everything that needs no stop is done before the seize */
	if ((rc = ma_inj_resolve_loader(pid, &syms, err)) != 0)
		return rc;
	if ((rc = ma_inj_seize(pid, 0, &inj, err)) != 0)
		return rc;
	t_seize = inj->t_interrupt;   /* the stop began after it: never understated */
	rc = ma_inj_find_safe_point(inj, SAFE_POINT_MS, err);
	/* A stopped process (SIGSTOP) would stop a new thread at once: there
	 * the borrowed thread does it all, the others are stopped anyway. */
	threaded = rc == 0 && syms.pthread_create && !inj->group_stopped;
	if (threaded)
		rc = ma_inj_load_start(inj, &req, err);
	else if (rc == 0)
		rc = run_calls(inj, &syms, so_path, entry_symbol, arg, entry_result, err);
	if (!inj->stub_found)
		new_stub = inj->stub;   /* mapped by this injection */
	if (stats) {
		stats->attempts = inj->attempts;
		stats->tid = inj->tid;
		stats->on_own_thread = threaded;
		stats->no_pthread = !syms.pthread_create;
	}
	if (ma_inj_release(inj) && rc == 0)
		rc = ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno,
				 "could not restore process %d after the injection", (int)pid);
	if (stats)
		stats->stopped_ms = ma_inj_now_ms() - t_seize;
	if (rc == 0 && threaded)
		rc = ma_inj_load_wait(pid, &req, LOAD_WAIT_MS, entry_result, err);
	/* nothing loaded for lack of memory: nothing left either */
	if (rc == MA_INJ_ERR_LIMIT && threaded && new_stub && ma_inj_load_thread_gone(pid))
		ma_inj_stub_unmap_later(pid, new_stub, syms.munmap);
	if (stats)
		stats->total_ms = ma_inj_now_ms() - t0;
	return rc;
}

struct tracer_result {
	int rc;
	long entry_result;
	struct ma_inj_stats stats;
	struct ma_inj_error err;
};

/* The tracer: job-control stops (Ctrl-Z) held off, dies with its parent. */
static void tracer_main(int fd, pid_t parent, pid_t pid, const char *so_path,
			const char *entry_symbol, const char *arg)
{
	struct tracer_result r;
	sigset_t stops;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	ma_inj_caller = parent;
	sigemptyset(&stops);
	sigaddset(&stops, SIGTSTP);
	sigaddset(&stops, SIGTTIN);
	sigaddset(&stops, SIGTTOU);
	sigaddset(&stops, SIGCHLD);   /* taken by sigtimedwait: a tracee's stop wakes us */
	sigprocmask(SIG_BLOCK, &stops, NULL);
	memset(&r, 0, sizeof(r));
	r.rc = inject_here(pid, so_path, entry_symbol, arg, &r.entry_result, &r.stats, &r.err);
	_exit(write(fd, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

/* Waits for the tracer's result within TRACER_BOUND_MS.  A tracer found
 * stopped (SIGSTOP) is killed at once: the target must not wait for it. */
static int wait_tracer(pid_t child, int fd, struct tracer_result *r)
{
	double deadline = ma_inj_now_ms() + TRACER_BOUND_MS;
	size_t got = 0;
	int st;

	while (got < sizeof(*r)) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (ma_inj_now_ms() > deadline)
			return -1;
		/* stopped: give up now; exited: its result is in the pipe or lost */
		if (waitpid(child, &st, WNOHANG | WUNTRACED) == child && WIFSTOPPED(st))
			return -1;
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(fd, (char *)r + got, sizeof(*r) - got);
		if (n == 0 || (n < 0 && errno != EINTR))
			return -1;
		got += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

int ma_inject_library_stats(pid_t pid, const char *so_path, const char *entry_symbol,
			    const char *arg, long *entry_result,
			    struct ma_inj_stats *stats, struct ma_inj_error *err)
{
	struct tracer_result r;
	pid_t parent = getpid(), child;
	int fd[2], ok;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (err)
		memset(err, 0, sizeof(*err));
	if (pipe2(fd, O_CLOEXEC))
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, errno, "pipe: %s", strerror(errno));
	if ((child = fork()) < 0) {
		close(fd[0]);
		close(fd[1]);
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, errno, "fork: %s", strerror(errno));
	}
	if (child == 0) {
		close(fd[0]);
		tracer_main(fd[1], parent, pid, so_path, entry_symbol, arg);
	}
	close(fd[1]);
	ok = wait_tracer(child, fd[0], &r) == 0;
	close(fd[0]);
	if (!ok)
		kill(child, SIGKILL);   /* the target then restores itself */
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	if (!ok)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, ETIMEDOUT,
				   "the injection into process %d was stopped or took longer than "
				   "%d ms, and was abandoned (the process goes on)", (int)pid,
				   TRACER_BOUND_MS);
	if (entry_result)
		*entry_result = r.entry_result;
	if (stats)
		*stats = r.stats;
	if (err)
		*err = r.err;
	return r.rc;
}

int ma_inject_library(pid_t pid, const char *so_path, const char *entry_symbol,
		      const char *arg, long *entry_result, struct ma_inj_error *err)
{
	return ma_inject_library_stats(pid, so_path, entry_symbol, arg, entry_result, NULL, err);
}

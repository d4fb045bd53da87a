/* inj_internal.h — shared between the injector's files, not public. */
#ifndef MEMATTACH_INJ_INTERNAL_H
#define MEMATTACH_INJ_INTERNAL_H

#include <stdint.h>
#include <limits.h>
#include <signal.h>
#include <sys/types.h>

#include "injector/injector.h"
#include "injector/arch.h"
#include "procfs/procfs.h"

/* Sets err (if not NULL) and returns code. */
int ma_inj_fail(struct ma_inj_error *err, int code, int sys_errno, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The target could not give the attach a page (mmap's errno e) or a
 * thread (pthread_create's e): its limits, said in one line. */
int ma_inj_page_failed(struct ma_inj_error *err, pid_t pid, int e);
int ma_inj_thread_failed(struct ma_inj_error *err, pid_t pid, int e);

double ma_inj_now_ms(void);
void ma_inj_sleep_us(long us);
/* SCHED_FIFO for this thread while on (when permitted), as before when off. */
void ma_inj_hurry(int on);

/* Address range [lo, hi) of every mapping of the first file whose base
 * name starts with prefix.  0 or -1. */
int ma_maps_module_range(pid_t pid, const char *prefix, unsigned long *lo,
			 unsigned long *hi, char *path, size_t pathsz);

/* The kernel task list of pid, main thread first.  Returns count (<= max). */
int ma_list_threads(pid_t pid, pid_t *tids, int max);

struct ma_umap;

struct ma_touched {             /* saved stack bytes, restored on release */
	unsigned long lo, hi;
	unsigned char *bytes;
};

/* What a call returns through (safe_return.c), found before the seize. */
struct ma_safe_return {
	unsigned long restorer;     /* libc's rt_sigreturn restorer */
	size_t restorer_len;
	int stub_sig;               /* default-ignored, not caught by the target */
};

enum ma_stop_kind {
	MA_STOP_EVENT,              /* PTRACE_EVENT_STOP (interrupt, group stop) */
	MA_STOP_SIGNAL,             /* signal-delivery-stop */
	MA_STOP_SYSCALL,            /* syscall-entry-stop */
};

struct ma_inj {
	pid_t pid, tid;
	int group_stopped;          /* the target was stopped (SIGSTOP) when seized */
	int stop_kind;              /* the current stop (enum ma_stop_kind) */
	int prepared;               /* mask saved */
	int dirty;                  /* registers changed since the seize */
	int abandoned;              /* a call left to finish on its own: hands off */
	int attempts;
	struct ma_arch_state *orig; /* registers as found (the thread's truth) */
	struct ma_arch_state *work;
	uint64_t orig_mask, call_mask;
	int mask_set;
	unsigned long stack_top;    /* next free byte (exclusive) of our stack data */
	struct ma_touched touched;
	double t_seized;
	double t_interrupt;         /* the last PTRACE_INTERRUPT: the stop the calls run in began after it */
	struct ma_safe_return ret;
	unsigned long stub;         /* the stub's page in the target, 0 if none yet */
	size_t stub_stop_off;       /* pc offset of the stub's signal stop */
	unsigned long stub_found;   /* an earlier injection's page, found before the seize */
	unsigned long mmap_fn;      /* libc's mmap, looked up before the seize */
	struct ma_umap *umap;       /* the target's code (unwind_map.h), made before the seize */
	int seccomp_memfd;          /* the calls judged on a thread include the memfd load's */
	int seccomp_any;            /* a thread had a filter at the seize (else none is judged) */
	long errno_tpoff;           /* errno's offset from the thread pointer (keep_errno.c) */
	int errno_known;            /* errno_tpoff found */
	int errno_saved;            /* the seized thread's errno is in saved_errno */
	int saved_errno;
};

/* The loader thread's page (load_thread.c): one per injection, read-write,
 * mapped by the seized thread, unmapped by the loader thread itself once
 * the injector acknowledged its outcome.  The offsets are the assembly's
 * (arch_<cpu>.c). */
enum ma_load_state { MA_LOAD_RUNNING, MA_LOAD_DONE, MA_LOAD_NO_DLOPEN, MA_LOAD_NO_SYMBOL };
struct ma_load_block {
	uint64_t state;             /* enum ma_load_state, written last by the thread */
	uint64_t ack;               /* set by the injector: the thread may go */
	int64_t result;             /* the entry's return value */
	uint64_t dlerror_text;      /* dlerror()'s string, valid until the ack */
	uint64_t fn_dlopen, fn_dlsym, fn_dlerror, fn_self, fn_detach;
	uint64_t dlopen_mode;
	uint64_t path, entry, arg;  /* strings, in data[] */
	uint64_t ack_poll[2];       /* a timespec: 1 ms */
	uint64_t tid;               /* the loader thread's, set first */
	char name[16];              /* the thread's name */
	char data[4096 - 144];
};
/* Where the start routine sits in the stub's page. */
#define MA_LOAD_THREAD_OFF 256


/* Waits for the next stop of inj->tid, up to deadline (ms, ma_inj_now_ms
 * clock).  Returns the wait status, or -1 with err set (gone / timeout). */
int ma_inj_wait(struct ma_inj *inj, double deadline, struct ma_inj_error *err);

/* Seizes and interrupts tid, waits for its stop, saves registers. */
int ma_inj_attach_thread(struct ma_inj *inj, pid_t tid, struct ma_inj_error *err);
/* Lets the untouched thread run for us microseconds, then stops it again. */
int ma_inj_let_run(struct ma_inj *inj, long us, struct ma_inj_error *err);
/* Saves the stack bytes [addr, end of what we wrote) before we overwrite them. */
int ma_inj_touch(struct ma_inj *inj, unsigned long addr, struct ma_inj_error *err);
/* Saves the thread's signal mask, once per thread. */
int ma_inj_prepare(struct ma_inj *inj, struct ma_inj_error *err);
/* Restores and detaches the current thread, inj stays allocated. */
int ma_inj_detach_thread(struct ma_inj *inj);
/* 1 when the seized thread's seccomp filters (if readable: root) let every
 * call of the attach through (memfd: the memfd load's too), else 0 and
 * *forbidden names the first refused (seccomp.c). */
int ma_inj_thread_seccomp_ok(struct ma_inj *inj, int memfd, const char **forbidden);
/* Before the seize: whether any thread has a filter (seccomp_any), so
 * that a process without one reads nothing more in its stops. */
void ma_inj_seccomp_note(struct ma_inj *inj);

/* safe_return.c: a call returns into a stub (or libc's restorer) above an
 * rt_sigreturn frame that gives the thread back its state by itself, so
 * the tracer may vanish at any instant. */
int ma_inj_resolve_return(pid_t pid, struct ma_safe_return *r, struct ma_inj_error *err);
/* Writes the frame below inj->stack_top, sets the registers for
 * func(args) returning to ret, then the call's signal mask. */
int ma_inj_enter_call(struct ma_inj *inj, unsigned long func, const unsigned long *args,
		      int nargs, unsigned long ret, struct ma_inj_error *err);
/* Finds (an earlier injection's) or maps the stub's page and writes the
 * stub. */
int ma_inj_stub_create(struct ma_inj *inj, struct ma_inj_error *err);
/* Unmaps the stub's page when this injection mapped it (an injection
 * that failed before anything was loaded leaves nothing behind). */
void ma_inj_stub_remove(struct ma_inj *inj, unsigned long munmap_fn);
/* The same after the seized thread was released (the loader thread's
 * dlopen failed): one more short stop, at a safe point. */
void ma_inj_stub_unmap_later(pid_t pid, unsigned long stub, unsigned long munmap_fn);
/* Stops a call still running and lets it go on untraced: its return
 * restores the thread.  inj is abandoned (release only frees it). */
void ma_inj_abandon(struct ma_inj *inj);
/* 1 when sig at a signal-delivery-stop is a fault in code we called. */
int ma_inj_is_fault(struct ma_inj *inj, int sig, siginfo_t *si);

/* keep_errno.c: a failed mmap or pthread_create in a call, or dlopen on
 * the seized thread, sets the thread's errno: it is saved before the first
 * call and written back on release.  Before the seize: where errno is. */
void ma_inj_errno_prepare(struct ma_inj *inj);
void ma_inj_errno_save(struct ma_inj *inj);
void ma_inj_errno_restore(struct ma_inj *inj);

/* Before the seize: libc's mmap, and an earlier injection's stub page. */
int ma_inj_stub_prepare(struct ma_inj *inj, struct ma_inj_error *err);

/* load_thread.c: dlopen + dlsym + entry on a thread of the target's own
 * (pthread_create), so that the seized thread is stopped only for that
 * call.  ma_inj_load_start runs on the seized thread (at a safe point);
 * the injector then releases it and calls ma_inj_load_wait. */
struct ma_load_req {
	const struct ma_inj_syms *syms;
	const char *so_path, *entry_symbol, *arg;
	unsigned long block;        /* set by ma_inj_load_start */
};
int ma_inj_load_start(struct ma_inj *inj, struct ma_load_req *req, struct ma_inj_error *err);
int ma_inj_load_wait(pid_t pid, const struct ma_load_req *req, int timeout_ms,
		     long *entry_result, struct ma_inj_error *err);
/* 1 once no thread of pid is the loader thread (1 s at most), else 0. */
int ma_inj_load_thread_gone(pid_t pid);

/* safepoint.c: 1 when a function of that name must not be on the stack
 * of the thread that calls pthread_create or dlopen (the allocator's, the
 * loader's, fork's, exit's, pthread_create's own). */
int ma_inj_unsafe_name(const char *name);
/* Sets libunwind up for the looks at map's process, before the seize. */
void ma_inj_safepoint_warm(struct ma_umap *map);
/* Walks the stopped thread tid with the map made before the seize: 1 at a
 * safe point, 0 when not (reason in why; *stale when a pc is in code the
 * map does not know), -1 when it could not be unwound. */
int ma_inj_thread_is_safe(struct ma_umap *map, pid_t tid, int *stale, char *why, size_t whysz);

/* The steps of an injection after which the tracer may vanish, named for
 * the test hook (test_kill.c), which SIGKILLs this process at the one
 * MEMATTACH_TEST_KILL_AT_STEP names.  Tests loop over 1..MA_STEP_LAST. */
enum ma_inj_step {
	MA_STEP_SEIZED = 1,     /* a thread in its interrupt stop, untouched */
	MA_STEP_FRAME,          /* a call's frame written below the stack */
	MA_STEP_CALL_REGS,      /* the registers set for a call */
	MA_STEP_CALL_MASK,      /* the call's signal mask set */
	MA_STEP_RESUMED,        /* a call running (to the stub or the restorer) */
	MA_STEP_STUB,           /* the stub's page mapped and written */
	MA_STEP_DATA,           /* data pushed below the stack */
	MA_STEP_MASK_BACK,      /* the thread's own mask restored */
	MA_STEP_REGS_BACK,      /* the thread's own registers restored */
	MA_STEP_LOADING,        /* the seized thread released, the loader thread running */
	MA_STEP_LAST = MA_STEP_LOADING
};
void ma_inj_checkpoint(enum ma_inj_step step);
/* MEMATTACH_TEST_NO_LOADER_THREAD=1: the target's pthread_create is not
 * looked for, as in a glibc older than 2.34 without libpthread loaded
 * (the fallback: dlopen on the seized thread), for the tests. */
int ma_inj_test_no_loader_thread(void);
extern pid_t ma_inj_caller;   /* who called ma_inject_library (the tracer's parent) */

int ma_inj_mem_read(pid_t pid, unsigned long addr, void *buf, size_t len);
int ma_inj_mem_write(pid_t pid, unsigned long addr, const void *buf, size_t len);

#endif

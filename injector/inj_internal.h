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

double ma_inj_now_ms(void);
void ma_inj_sleep_us(long us);

/* Address range [lo, hi) of every mapping of the first file whose base
 * name starts with prefix.  0 or -1. */
int ma_maps_module_range(pid_t pid, const char *prefix, unsigned long *lo,
			 unsigned long *hi, char *path, size_t pathsz);

/* The kernel task list of pid, main thread first.  Returns count (<= max). */
int ma_list_threads(pid_t pid, pid_t *tids, int max);

struct ma_touched {             /* saved stack bytes, restored on release */
	unsigned long lo, hi;
	unsigned char *bytes;
};

struct ma_inj {
	pid_t pid, tid;
	int group_stopped;          /* the target was stopped (SIGSTOP) when seized */
	int at_signal_stop;         /* current stop is a signal-delivery-stop */
	int prepared;               /* mask saved, async signals blocked */
	int dirty;                  /* registers changed since the seize */
	int attempts;
	struct ma_arch_state *orig; /* registers as found (the thread's truth) */
	struct ma_arch_state *work;
	uint64_t orig_mask;
	int mask_set;
	unsigned long stack_top;    /* next free byte (exclusive) of our stack data */
	struct ma_touched touched;
	double t_seized;
};

/* Waits for the next stop of inj->tid, up to deadline (ms, ma_inj_now_ms
 * clock).  Returns the wait status, or -1 with err set (gone / timeout). */
int ma_inj_wait(struct ma_inj *inj, double deadline, struct ma_inj_error *err);

/* Seizes and interrupts tid, waits for its stop, saves registers. */
int ma_inj_attach_thread(struct ma_inj *inj, pid_t tid, struct ma_inj_error *err);
/* Lets the untouched thread run for us microseconds, then stops it again. */
int ma_inj_let_run(struct ma_inj *inj, long us, struct ma_inj_error *err);
/* Saves the thread's signal mask and blocks async signals, once per thread. */
int ma_inj_prepare(struct ma_inj *inj, struct ma_inj_error *err);
/* Restores and detaches the current thread, inj stays allocated. */
int ma_inj_detach_thread(struct ma_inj *inj);

/* 1 when the stopped thread is at a safe point, 0 when not (reason in
 * why), -1 when it could not be unwound. */
int ma_inj_thread_is_safe(pid_t pid, pid_t tid, char *why, size_t whysz);

int ma_inj_mem_read(pid_t pid, unsigned long addr, void *buf, size_t len);
int ma_inj_mem_write(pid_t pid, unsigned long addr, const void *buf, size_t len);

#endif

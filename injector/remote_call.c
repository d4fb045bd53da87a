/* remote_call.c — calling a function on the seized thread: data on its
 * stack, registers per the ABI, a return address that faults at 0, and the
 * stop that tells us the call returned. */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Saves the stack bytes [addr, touched.lo) before we overwrite them. */
static int touch(struct ma_inj *inj, unsigned long addr, struct ma_inj_error *err)
{
	struct ma_touched *t = &inj->touched;
	size_t add, old;
	unsigned char *nb;

	if (addr >= t->lo)
		return 0;
	add = t->lo - addr;
	old = t->hi - t->lo;
	if (add + old > (1u << 20))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, E2BIG, "too much data for the target's stack");
	nb = malloc(add + old);
	if (!nb)
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, ENOMEM, "out of memory");
	if (ma_inj_mem_read(inj->pid, addr, nb, add)) {
		free(nb);
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno,
				   "cannot read the stack of thread %d at %#lx: %s", (int)inj->tid,
				   addr, strerror(errno));
	}
	if (old)
		memcpy(nb + add, t->bytes, old);
	free(t->bytes);
	t->bytes = nb;
	t->lo = addr;
	return 0;
}

unsigned long ma_inj_push_data(struct ma_inj *inj, const void *data, size_t len,
			       struct ma_inj_error *err)
{
	unsigned long addr;

	/* signals blocked before any data: a handler would build its frame
	 * right over it */
	if (ma_inj_prepare(inj, err))
		return 0;
	addr = (inj->stack_top - len) & ~15UL;
	if (touch(inj, addr, err))
		return 0;
	if (ma_inj_mem_write(inj->pid, addr, data, len)) {
		ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write to thread %d's stack: %s",
			    (int)inj->tid, strerror(errno));
		return 0;
	}
	inj->stack_top = addr;
	return addr;
}

unsigned long ma_inj_push_string(struct ma_inj *inj, const char *s, struct ma_inj_error *err)
{
	return ma_inj_push_data(inj, s, strlen(s) + 1, err);
}

int ma_inj_read_string(struct ma_inj *inj, unsigned long addr, char *buf, size_t size)
{
	size_t got = 0;

	if (!size)
		return -1;
	/* page by page: the string may end just before an unmapped page */
	while (got + 1 < size) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		char *nul;

		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (ma_inj_mem_read(inj->pid, addr + got, buf + got, chunk))
			break;
		nul = memchr(buf + got, '\0', chunk);
		if (nul)
			return 0;
		got += chunk;
	}
	buf[got] = '\0';
	return got ? 0 : -1;
}

/* Async signals stay pending while we run code in the thread; the synchronous
 * ones must stay deliverable: the kernel resets the handler of a blocked
 * signal it has to force (and our return trap is a SIGSEGV). */
static int block_signals(struct ma_inj *inj, struct ma_inj_error *err)
{
	uint64_t all = ~0ULL;
	int sync[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS };
	size_t i;

	if (ptrace(PTRACE_GETSIGMASK, inj->tid, (void *)sizeof(uint64_t), &inj->orig_mask) == -1)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot read thread %d's signal mask",
				   (int)inj->tid);
	for (i = 0; i < sizeof(sync) / sizeof(sync[0]); i++)
		all &= ~(1ULL << (sync[i] - 1));
	if (ptrace(PTRACE_SETSIGMASK, inj->tid, (void *)sizeof(uint64_t), &all) == -1)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot set thread %d's signal mask",
				   (int)inj->tid);
	inj->mask_set = 1;
	return 0;
}

int ma_inj_prepare(struct ma_inj *inj, struct ma_inj_error *err)
{
	int rc;

	if (inj->prepared)
		return 0;
	if ((rc = block_signals(inj, err)) != 0)
		return rc;
	inj->prepared = 1;
	return 0;
}

int ma_inj_call(struct ma_inj *inj, unsigned long func, const unsigned long *args,
		int nargs, unsigned long *ret, int timeout_ms, struct ma_inj_error *err)
{
	unsigned long slot, zero[2] = { 0, 0 };
	size_t slot_len;
	double deadline;
	int rc;

	if ((rc = ma_inj_prepare(inj, err)) != 0)
		return rc;
	ma_arch_state_copy(inj->work, inj->orig);
	if (ma_arch_setup_call(inj->work, func, args, nargs, inj->stack_top, &slot, &slot_len))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, EINVAL, "bad remote call (%d arguments)", nargs);
	if (slot_len) {
		if ((rc = touch(inj, slot, err)) != 0)
			return rc;
		if (ma_inj_mem_write(inj->pid, slot, zero, slot_len))
			return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write thread %d's stack",
					   (int)inj->tid);
	}
	inj->dirty = 1;
	if (ma_arch_set_gp(inj->tid, inj->work))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot set registers of thread %d",
				   (int)inj->tid);
	if (ptrace(PTRACE_CONT, inj->tid, 0, 0) == -1)
		return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone", (int)inj->tid);
	inj->at_signal_stop = 0;
	deadline = ma_inj_now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	for (;;) {
		int st = ma_inj_wait(inj, deadline, err), sig;
		siginfo_t si;

		if (st < 0) {
			rc = -st;
			if (rc == MA_INJ_ERR_CALL) {
				/* still running our call: stop it so release can restore */
				ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0);
				ma_inj_wait(inj, ma_inj_now_ms() + 1000, NULL);
				ma_inj_fail(err, MA_INJ_ERR_CALL, ETIMEDOUT,
					    "the call at %#lx in process %d did not return within %d ms "
					    "(deadlock? the process is stopped by SIGSTOP?)", func,
					    (int)inj->pid, timeout_ms > 0 ? timeout_ms : 10000);
			}
			return rc;
		}
		sig = WSTOPSIG(st);
		if ((st >> 16) == PTRACE_EVENT_STOP || sig == (SIGTRAP | 0x80)) {
			ptrace(PTRACE_CONT, inj->tid, 0, 0);
			continue;
		}
		if (sig == SIGSEGV) {
			if (ma_arch_get_gp(inj->tid, inj->work))
				return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone",
						   (int)inj->tid);
			if (ma_arch_at_return_trap(inj->work)) {
				inj->at_signal_stop = 1;
				*ret = ma_arch_retval(inj->work);
				return 0;
			}
			if (ptrace(PTRACE_GETSIGINFO, inj->tid, 0, &si) == 0 && si.si_code > 0) {
				inj->at_signal_stop = 1;   /* detach suppresses the fault */
				return ma_inj_fail(err, MA_INJ_ERR_CALL, 0,
						   "the call at %#lx crashed in process %d (SIGSEGV at pc %#lx, "
						   "address %p); the target was restored", func, (int)inj->pid,
						   ma_arch_pc(inj->work), si.si_addr);
			}
		}
		/* any other signal: deliver it as it would have been */
		ptrace(PTRACE_CONT, inj->tid, 0, (void *)(long)sig);
	}
}

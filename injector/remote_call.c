/* remote_call.c — calling a function on the seized thread: data on its
 * stack, registers per the ABI, a return through the stub and its frame
 * (safe_return.c), and the stop that tells us the call returned. */
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
int ma_inj_touch(struct ma_inj *inj, unsigned long addr, struct ma_inj_error *err)
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
	if (ma_inj_mem_read(inj->tid, addr, nb, add)) {
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

	if (ma_inj_prepare(inj, err))
		return 0;
	addr = (inj->stack_top - len) & ~15UL;
	if (ma_inj_touch(inj, addr, err))
		return 0;
	if (ma_inj_mem_write(inj->tid, addr, data, len)) {
		ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write to thread %d's stack: %s",
			    (int)inj->tid, strerror(errno));
		return 0;
	}
	inj->stack_top = addr;
	ma_inj_checkpoint(MA_STEP_DATA);
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
		if (ma_inj_mem_read(inj->tid, addr + got, buf + got, chunk))
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
 * ones must stay deliverable (the kernel resets the handler of a blocked
 * signal it has to force), and so must the stub's signal.  The mask is set
 * with the first call (ma_inj_enter_call); here it is only saved. */
int ma_inj_prepare(struct ma_inj *inj, struct ma_inj_error *err)
{
	int open[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, inj->ret.stub_sig };
	size_t i;

	if (inj->prepared)
		return 0;
	if (ptrace(PTRACE_GETSIGMASK, inj->tid, (void *)sizeof(uint64_t), &inj->orig_mask) == -1)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot read thread %d's signal mask",
				   (int)inj->tid);
	ma_inj_errno_save(inj);
	inj->call_mask = ~0ULL;
	for (i = 0; i < sizeof(open) / sizeof(open[0]); i++)
		inj->call_mask &= ~(1ULL << (open[i] - 1));
	inj->prepared = 1;
	return 0;
}

static int at_stub_stop(struct ma_inj *inj, int sig)
{
	return sig == inj->ret.stub_sig && inj->stub &&
	       ma_arch_pc(inj->work) == inj->stub + inj->stub_stop_off;
}

/* Waits for the call to come back to the stub: other stops are passed on. */
static int wait_return(struct ma_inj *inj, unsigned long func, int timeout_ms,
		       unsigned long *ret, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + timeout_ms;
	int sig = 0;

	for (;;) {
		siginfo_t si;
		int st;

		if (ptrace(PTRACE_CONT, inj->tid, 0, (void *)(long)sig) == -1)
			return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone",
					   (int)inj->tid);
		ma_inj_checkpoint(MA_STEP_RESUMED);
		if ((st = ma_inj_wait(inj, deadline, err)) < 0) {
			if (-st != MA_INJ_ERR_CALL)
				return -st;
			ma_inj_abandon(inj);
			return ma_inj_fail(err, MA_INJ_ERR_CALL, ETIMEDOUT,
					   "the call at %#lx in process %d did not return within %d ms "
					   "(deadlock?); it was left to finish on its own", func,
					   (int)inj->pid, timeout_ms);
		}
		sig = 0;
		if ((st >> 16) == PTRACE_EVENT_STOP || WSTOPSIG(st) == (SIGTRAP | 0x80))
			continue;
		sig = WSTOPSIG(st);
		if (ma_arch_get_gp(inj->tid, inj->work))
			return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone",
					   (int)inj->tid);
		if (at_stub_stop(inj, sig)) {
			inj->stop_kind = MA_STOP_SIGNAL;   /* the stub's signal is dropped */
			*ret = ma_arch_stub_result(inj->work);
			return 0;
		}
		if (ma_inj_is_fault(inj, sig, &si)) {
			inj->stop_kind = MA_STOP_SIGNAL;   /* detach suppresses the fault */
			return ma_inj_fail(err, MA_INJ_ERR_CALL, 0,
					   "the call at %#lx crashed in process %d (signal %d at pc %#lx, "
					   "address %p); the target was restored", func, (int)inj->pid,
					   sig, ma_arch_pc(inj->work), si.si_addr);
		}
		/* any other signal: deliver it as it would have been */
	}
}

int ma_inj_call(struct ma_inj *inj, unsigned long func, const unsigned long *args,
		int nargs, unsigned long *ret, int timeout_ms, struct ma_inj_error *err)
{
	int rc;

	if (inj->abandoned)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, 0, "an earlier call is still running");
	if ((rc = ma_inj_prepare(inj, err)) != 0 || (rc = ma_inj_stub_create(inj, err)) != 0 ||
	    (rc = ma_inj_enter_call(inj, func, args, nargs, inj->stub, err)) != 0)
		return rc;
	return wait_return(inj, func, timeout_ms > 0 ? timeout_ms : 10000, ret, err);
}

/* seize.c — taking one thread with PTRACE_SEIZE + PTRACE_INTERRUPT, waiting
 * for its stops, and giving it back exactly as found. */
#include "config.h"
#include "injector/inj_internal.h"
#include "injector/unwind_map.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

/* Sleeps until a child or tracee changes state (SIGCHLD, when the caller
 * blocks it, as the tracer does: a stop is seen at once, the thread is
 * not kept stopped by our polling), else for us microseconds. */
static void wait_for_change(long us)
{
	struct timespec ts = { 0, us * 1000 };
	sigset_t chld, cur;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (pthread_sigmask(SIG_BLOCK, NULL, &cur) == 0 && sigismember(&cur, SIGCHLD)) {
		ts.tv_nsec = 10 * 1000000L;   /* a lost wake-up costs 10 ms at most */
		sigtimedwait(&chld, NULL, &ts);
	} else {
		ma_inj_sleep_us(us);
	}
}

int ma_inj_wait(struct ma_inj *inj, double deadline, struct ma_inj_error *err)
{
	long backoff = 20;
	int st;

	for (;;) {
		pid_t r = waitpid(inj->tid, &st, __WALL | WNOHANG);

		if (r == inj->tid) {
			if (WIFEXITED(st) || WIFSIGNALED(st))
				return -ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, 0,
						    "process %d (thread %d) exited during the injection",
						    (int)inj->pid, (int)inj->tid);
			return st;
		}
		if (r < 0 && errno != EINTR)
			return -ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno,
					    "lost thread %d of process %d: %s", (int)inj->tid,
					    (int)inj->pid, strerror(errno));
		if (ma_inj_now_ms() > deadline)
			return -ma_inj_fail(err, MA_INJ_ERR_CALL, ETIMEDOUT,
					    "thread %d of process %d did not stop in time (uninterruptible "
					    "sleep? check its state in /proc/%d/task/%d/stat)",
					    (int)inj->tid, (int)inj->pid, (int)inj->pid, (int)inj->tid);
		wait_for_change(backoff);
		if (backoff < 1000)
			backoff *= 2;
	}
}

static int is_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Waits for the PTRACE_EVENT_STOP our PTRACE_INTERRUPT asked for.  A signal
 * that arrives first is passed on at once, so it is not lost; the interrupt
 * stays pending and stops the thread right after. */
static int wait_interrupt_stop(struct ma_inj *inj, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + 2000;

	for (;;) {
		int st = ma_inj_wait(inj, deadline, err);

		if (st < 0)
			return -st;
		if (!WIFSTOPPED(st))
			continue;
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			if (is_stop_sig(WSTOPSIG(st)))
				inj->group_stopped = 1;
			return 0;
		}
		/* signal-delivery-stop (or a stray trap): let it go on */
		ptrace(PTRACE_CONT, inj->tid, 0,
		       (void *)(long)(WSTOPSIG(st) == (SIGTRAP | 0x80) ? 0 : WSTOPSIG(st)));
	}
}

static char thread_state(pid_t pid, pid_t tid)
{
	struct ma_proc_stat st;

	return ma_proc_task_stat(pid, tid, &st) ? '?' : st.state;
}

static int seize_failed(struct ma_inj *inj, pid_t tid, struct ma_inj_error *err)
{
	unsigned long long tracer = 0;
	int e = errno;

	if (e == ESRCH)
		return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, e, "process %d is gone", (int)inj->pid);
	if (ma_proc_status_field(inj->pid, tid, "TracerPid", &tracer, 1, 10))
		tracer = 0;
	if (tracer)
		return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, e,
				   "process %d is already traced by process %llu (a debugger or strace?): "
				   "detach it first", (int)inj->pid, tracer);
	return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, e,
			   "ptrace(PTRACE_SEIZE) of process %d refused (%s): it may be non-dumpable "
			   "(setuid, prctl) or protected by a security module; run memattach as root",
			   (int)inj->pid, strerror(e));
}

/* epoll_wait & co return EINTR for our stop alone: make them restart (or
 * EINTR if a handler runs), as if we had not been there.  At once, so that
 * it holds however the thread leaves this stop. */
static int fix_eintr(struct ma_inj *inj)
{
	ma_arch_state_copy(inj->work, inj->orig);
	ma_arch_eintr_to_restart(inj->work);
	if (ma_arch_retval(inj->work) == ma_arch_retval(inj->orig))
		return 0;
	if (ma_arch_set_gp(inj->tid, inj->work))
		return -1;
	ma_arch_state_copy(inj->orig, inj->work);
	return 0;
}

int ma_inj_attach_thread(struct ma_inj *inj, pid_t tid, struct ma_inj_error *err)
{
	int rc;

	inj->tid = tid;
	inj->group_stopped = thread_state(inj->pid, tid) == 'T';
	inj->stop_kind = MA_STOP_EVENT;
	inj->prepared = 0;
	inj->dirty = 0;
	inj->mask_set = 0;
	if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) == -1)
		return seize_failed(inj, tid, err);
	inj->t_interrupt = ma_inj_now_ms();
	if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) == -1) {
		rc = ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "cannot interrupt thread %d: %s",
				 (int)tid, strerror(errno));
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return rc;
	}
	if ((rc = wait_interrupt_stop(inj, err)) != 0) {
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return rc;
	}
	if (ma_arch_get(tid, inj->orig) || fix_eintr(inj)) {
		rc = ma_inj_fail(err, MA_INJ_ERR_SYSTEM, errno, "cannot read thread %d's registers: %s",
				 (int)tid, strerror(errno));
		ptrace(PTRACE_DETACH, tid, 0, 0);
		return rc;
	}
	inj->stack_top = ma_arch_sp(inj->orig) - ma_arch_redzone();
	inj->touched.lo = inj->touched.hi = inj->stack_top;
	ma_inj_checkpoint(MA_STEP_SEIZED);
	return 0;
}

/* Detached, not just continued: a traced thread stops for every signal
 * that comes in, and would sit in those stops while we sleep. */
int ma_inj_let_run(struct ma_inj *inj, long us, struct ma_inj_error *err)
{
	pid_t tid = inj->tid;

	if (ma_inj_detach_thread(inj))
		return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone", (int)tid);
	ma_inj_sleep_us(us);
	return ma_inj_attach_thread(inj, tid, err);
}

/* The registers to resume with for good.  From a signal-delivery-stop the
 * kernel itself restarts an interrupted syscall (or makes it EINTR when a
 * handler runs), exactly as without us; from any other stop we do it, and
 * at a syscall-entry stop no syscall may be left pending. */
static void final_state(struct ma_inj *inj)
{
	ma_arch_state_copy(inj->work, inj->orig);
	if (inj->stop_kind != MA_STOP_SIGNAL)
		ma_arch_restart_syscall(inj->work);
}

/* In this order, so that each step leaves a thread that runs on correctly
 * if we vanish after it: while the registers are ours the frame below
 * them restores mask and registers, so the mask goes back first, then the
 * registers, and only then the stack bytes under the frame.  (The stub's
 * page stays: see ma_inj_stub_create.) */
int ma_inj_detach_thread(struct ma_inj *inj)
{
	int rc = 0;

	if (inj->abandoned)
		return -1;
	ma_inj_errno_restore(inj);
	if (inj->mask_set) {
		if (ptrace(PTRACE_SETSIGMASK, inj->tid, (void *)sizeof(inj->orig_mask),
			   &inj->orig_mask) == -1)
			rc = -1;
		inj->mask_set = 0;
		ma_inj_checkpoint(MA_STEP_MASK_BACK);
	}
	if (inj->dirty) {
		final_state(inj);
		if (ma_arch_set(inj->tid, inj->work))
			rc = -1;
		ma_inj_checkpoint(MA_STEP_REGS_BACK);
	}
	inj->dirty = 0;
	if (inj->touched.bytes && inj->touched.lo < inj->touched.hi &&
	    ma_inj_mem_write(inj->tid, inj->touched.lo, inj->touched.bytes,
			     inj->touched.hi - inj->touched.lo))
		rc = -1;
	free(inj->touched.bytes);
	inj->touched.bytes = NULL;
	inj->touched.lo = inj->touched.hi = 0;
	/* Detach re-queues a group stop that is still in effect: a stopped
	 * target stays stopped. */
	if (ptrace(PTRACE_DETACH, inj->tid, 0, 0) == -1)
		rc = -1;
	return rc;
}

static void free_umap(struct ma_inj *inj)
{
	if (inj->umap)
		ma_umap_free(inj->umap);
	free(inj->umap);
	inj->umap = NULL;
}

int ma_inj_seize(pid_t pid, pid_t tid, struct ma_inj **out, struct ma_inj_error *err)
{
	struct ma_inj *inj = calloc(1, sizeof(*inj));
	char path[96];
	int rc;

	*out = NULL;
	if (!inj || !(inj->orig = ma_arch_state_new()) || !(inj->work = ma_arch_state_new())) {
		if (inj) {
			ma_arch_state_free(inj->orig);
			free(inj);
		}
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, ENOMEM, "out of memory");
	}
	inj->pid = pid;
	if (tid == 0)
		tid = pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	if (access(path, F_OK) != 0)
		rc = ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, errno,
				 "no thread %d in process %d", (int)tid, (int)pid);
	else if (!(inj->umap = calloc(1, sizeof(*inj->umap))) || ma_umap_build(pid, inj->umap))
		rc = ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, errno,
				 "cannot read /proc/%d/maps: the process is gone or not ours", (int)pid);
	else if ((rc = ma_inj_resolve_return(pid, &inj->ret, err)) == 0 &&
		 (rc = ma_inj_stub_prepare(inj, err)) == 0) {
		ma_inj_errno_prepare(inj);
		ma_inj_safepoint_warm(inj->umap);
		ma_inj_seccomp_note(inj);
		ma_inj_hurry(1);
		rc = ma_inj_attach_thread(inj, tid, err);
	}
	if (rc) {
		ma_inj_hurry(0);
		free_umap(inj);
		ma_arch_state_free(inj->orig);
		ma_arch_state_free(inj->work);
		free(inj);
		return rc;
	}
	inj->t_seized = ma_inj_now_ms();
	*out = inj;
	return 0;
}

pid_t ma_inj_tid(const struct ma_inj *inj)
{
	return inj->tid;
}

int ma_inj_release(struct ma_inj *inj)
{
	int rc;

	if (!inj)
		return 0;
	rc = ma_inj_detach_thread(inj);
	ma_inj_hurry(0);
	free_umap(inj);
	ma_arch_state_free(inj->orig);
	ma_arch_state_free(inj->work);
	free(inj);
	return rc;
}

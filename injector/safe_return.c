/* safe_return.c — calls that return without the tracer.  Each call's
 * return address sits in an rt_sigreturn frame (written below the red zone
 * and our data) that holds the thread's own registers, FP state and signal
 * mask.  It returns into a stub on a page we map once per process (which
 * stops for the tracer with a signal the target ignores, then
 * rt_sigreturns), or, to map that page, into libc's restorer.  If the tracer vanishes, the
 * thread finishes the call and the frame restores it: nothing waits for
 * us.  The rt_sigreturn is intercepted while we are there (a signal stop
 * or a syscall-entry stop) and the tracer restores exactly instead. */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#define FRAME_MAX (16384 + 1024)
#define STUB_PAGE 4096
#define SYSCALL_CALL_MS 2000

struct find_ctx {
	pid_t pid;
	const unsigned char *code;
	size_t len;
	unsigned long near;   /* look only within 64 KiB of it (0: everywhere) */
	unsigned long found;
};

/* Looks for the restorer's code in the executable mappings of libc. */
static int find_in_map(const struct ma_map *m, void *p)
{
	struct find_ctx *c = p;
	const char *base = strrchr(m->path, '/');
	unsigned long lo = m->start, hi = m->end;
	unsigned char *buf, *hit;

	if (m->perms[2] != 'x' || !base || strncmp(base + 1, "libc.so", 7) != 0)
		return 0;
	if (c->near) {
		if (c->near < lo || c->near >= hi)
			return 0;
		lo = c->near - lo > 65536 ? c->near - 65536 : lo;
		hi = hi - c->near > 65536 ? c->near + 65536 : hi;
	}
	if (hi - lo > (64u << 20) || !(buf = malloc(hi - lo)))
		return 0;
	if (ma_inj_mem_read(c->pid, lo, buf, hi - lo) == 0 &&
	    (hit = memmem(buf, hi - lo, c->code, c->len)) != NULL)
		c->found = lo + (unsigned long)(hit - buf);
	free(buf);
	return c->found != 0;
}

/* A signal whose default action is to ignore it and that the target does
 * not catch: sent to itself, it is dropped when nobody traces the thread. */
static int pick_stub_signal(pid_t pid)
{
	static const int cand[] = { SIGURG, SIGWINCH, SIGCHLD };
	char path[64], buf[4096], *p;
	unsigned long long caught = ~0ULL;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (ma_proc_read_file(path, buf, sizeof(buf)) == 0 && (p = strstr(buf, "SigCgt:")))
		caught = strtoull(p + 7, NULL, 16);
	for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++)
		if (!(caught & (1ULL << (cand[i] - 1))))
			return cand[i];
	return 0;
}

int ma_inj_resolve_return(pid_t pid, struct ma_safe_return *r, struct ma_inj_error *err)
{
	struct find_ctx c = { pid, NULL, 0, 0, 0 };

	memset(r, 0, sizeof(*r));
	c.code = ma_arch_restorer_code(&c.len);
	/* glibc keeps it beside sigaction, which installs it: look there first */
	if (ma_inj_lookup(pid, "libc.so", "sigaction", &c.near, NULL) == 0)
		ma_maps_foreach(pid, find_in_map, &c);
	c.near = 0;
	if (!c.found)
		ma_maps_foreach(pid, find_in_map, &c);
	if (!c.found)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "no signal restorer found in the libc of process %d: not glibc?",
				   (int)pid);
	r->restorer = c.found;
	r->restorer_len = c.len;
	if (!(r->stub_sig = pick_stub_signal(pid)))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, 0,
				   "process %d catches SIGURG, SIGWINCH and SIGCHLD: no signal left to "
				   "return from a call safely", (int)pid);
	return 0;
}

/* The state the frame gives back: the thread's own, with an interrupted
 * syscall set to run again (rt_sigreturn does no restart itself). */
static void resume_state(struct ma_inj *inj)
{
	ma_arch_state_copy(inj->work, inj->orig);
	ma_arch_restart_syscall(inj->work);
}

int ma_inj_enter_call(struct ma_inj *inj, unsigned long func, const unsigned long *args,
		      int nargs, unsigned long ret, struct ma_inj_error *err)
{
	unsigned char *buf = malloc(FRAME_MAX);
	unsigned long frame;
	size_t len;
	int rc;

	if (!buf)
		return ma_inj_fail(err, MA_INJ_ERR_SYSTEM, ENOMEM, "out of memory");
	resume_state(inj);
	len = ma_arch_sigframe(inj->work, inj->orig_mask, inj->stack_top, ret, buf, FRAME_MAX,
			       &frame);
	rc = !len ? ma_inj_fail(err, MA_INJ_ERR_CALL, E2BIG, "signal frame too large")
		  : ma_inj_touch(inj, frame, err);
	if (!rc && ma_inj_mem_write(inj->tid, frame, buf, len))
		rc = ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write thread %d's stack: %s",
				 (int)inj->tid, strerror(errno));
	free(buf);
	if (rc)
		return rc;
	ma_inj_checkpoint(MA_STEP_FRAME);
	ma_arch_state_copy(inj->work, inj->orig);
	if (ma_arch_setup_call(inj->work, func, args, nargs, frame))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, EINVAL, "bad remote call (%d arguments)", nargs);
	inj->dirty = 1;
	if (ma_arch_set_gp(inj->tid, inj->work))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot set registers of thread %d",
				   (int)inj->tid);
	ma_inj_checkpoint(MA_STEP_CALL_REGS);
	/* Only now: had we vanished before, the call's return restores the mask. */
	if (!inj->mask_set) {
		if (ptrace(PTRACE_SETSIGMASK, inj->tid, (void *)sizeof(uint64_t), &inj->call_mask) == -1)
			return ma_inj_fail(err, MA_INJ_ERR_CALL, errno,
					   "cannot set thread %d's signal mask", (int)inj->tid);
		inj->mask_set = 1;
		ma_inj_checkpoint(MA_STEP_CALL_MASK);
	}
	return 0;
}

int ma_inj_is_fault(struct ma_inj *inj, int sig, siginfo_t *si)
{
	if (sig != SIGSEGV && sig != SIGBUS && sig != SIGILL && sig != SIGFPE && sig != SIGTRAP)
		return 0;
	return ptrace(PTRACE_GETSIGINFO, inj->tid, 0, si) == 0 && si->si_code > 0;
}

/* Runs func(args), which makes syscall nr, returning into libc's restorer,
 * stopping at each syscall: *sysret is nr's result, and the thread is left
 * in the syscall-entry stop of the rt_sigreturn. */
static int call_via_restorer(struct ma_inj *inj, unsigned long func, const unsigned long *args,
			     int nargs, long nr, long *sysret, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + SYSCALL_CALL_MS;
	unsigned long back = inj->ret.restorer + inj->ret.restorer_len;
	long last_nr = -1;
	int rc, sig = 0;

	*sysret = -ENOSYS;
	if ((rc = ma_inj_enter_call(inj, func, args, nargs, inj->ret.restorer, err)) != 0)
		return rc;
	for (;;) {
		struct __ptrace_syscall_info si;
		siginfo_t fi;
		int st;

		if (ptrace(PTRACE_SYSCALL, inj->tid, 0, (void *)(long)sig) == -1)
			return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone",
					   (int)inj->tid);
		ma_inj_checkpoint(MA_STEP_RESUMED);
		if ((st = ma_inj_wait(inj, deadline, err)) < 0) {
			if (-st == MA_INJ_ERR_CALL)
				ma_inj_abandon(inj);
			return -st;
		}
		sig = 0;
		if ((st >> 16) == PTRACE_EVENT_STOP)
			continue;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(st);
			if (ma_inj_is_fault(inj, sig, &fi)) {
				inj->stop_kind = MA_STOP_SIGNAL;
				return ma_inj_fail(err, MA_INJ_ERR_CALL, 0, "a call crashed in process %d",
						   (int)inj->pid);
			}
			continue;   /* any other signal: delivered as it would have been */
		}
		if (ptrace(PTRACE_GET_SYSCALL_INFO, inj->tid, (void *)sizeof(si), &si) <= 0)
			return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "PTRACE_GET_SYSCALL_INFO failed");
		if (si.op == PTRACE_SYSCALL_INFO_ENTRY) {
			last_nr = (long)si.entry.nr;
			if (last_nr == SYS_rt_sigreturn && si.instruction_pointer == back) {
				inj->stop_kind = MA_STOP_SYSCALL;
				return 0;
			}
		} else if (si.op == PTRACE_SYSCALL_INFO_EXIT && last_nr == nr) {
			*sysret = si.exit.rval;
		}
	}
}

struct stub_find {
	pid_t pid;
	unsigned char a[64], b[64];   /* the stub for two signals */
	size_t len;
	unsigned long found;
};

/* An earlier injection's stub page: 4 KiB, r-x, anonymous, holding the
 * stub for this process (any thread, any signal). */
static int find_stub(const struct ma_map *m, void *p)
{
	struct stub_find *f = p;
	unsigned char buf[64];
	size_t i;

	if (m->path[0] || strcmp(m->perms, "r-xp") != 0 || m->end - m->start != STUB_PAGE ||
	    ma_inj_mem_read(f->pid, m->start, buf, f->len))
		return 0;
	for (i = 0; i < f->len; i++)
		if (f->a[i] == f->b[i] && buf[i] != f->a[i])
			return 0;
	f->found = m->start;
	return 1;
}

static int bytes_differ(struct ma_inj *inj, unsigned long at, const unsigned char *code,
			size_t len)
{
	unsigned char cur[STUB_PAGE];

	return ma_inj_mem_read(inj->tid, at, cur, len) || memcmp(cur, code, len) != 0;
}

/* The stub as this process needs it (its own pid: a container's pid
 * namespace numbers it differently) and the pattern that finds an earlier
 * injection's page whatever its signal. */
static size_t stub_code(struct ma_inj *inj, unsigned char *code, size_t size,
			struct stub_find *f)
{
	size_t off;
	pid_t own = inj->pid;

	if (ma_proc_nspid(inj->pid, 0, &own, NULL) < 0)
		own = inj->pid;
	if (f) {
		f->len = ma_arch_stub(f->a, sizeof(f->a), own, 1, &off);
		ma_arch_stub(f->b, sizeof(f->b), own, 2, &off);
	}
	return ma_arch_stub(code, size, own, inj->ret.stub_sig, &inj->stub_stop_off);
}

/* Before the seize, so that the stop does not wait for /proc reads and
 * symbol tables: libc's mmap and an earlier injection's page. */
int ma_inj_stub_prepare(struct ma_inj *inj, struct ma_inj_error *err)
{
	struct stub_find f = { inj->pid, { 0 }, { 0 }, 0, 0 };
	unsigned char code[64];
	int rc;

	stub_code(inj, code, sizeof(code), &f);
	ma_maps_foreach(inj->pid, find_stub, &f);
	inj->stub_found = f.found;
	/* mapping the stub's page and the loader thread's both need it */
	if ((rc = ma_inj_lookup(inj->pid, "libc.so", "mmap", &inj->mmap_fn, err)) != 0)
		return rc;
	return 0;
}

/* The stub's page stays mapped after the injection (as the agent stays
 * loaded): a later injection finds it and rewrites it for its thread.  It
 * holds the return stub and, at MA_LOAD_THREAD_OFF, the loader thread's
 * start routine. */
int ma_inj_stub_create(struct ma_inj *inj, struct ma_inj_error *err)
{
	unsigned long args[6] = { 0, STUB_PAGE, PROT_READ | PROT_EXEC,
				  MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 };
	unsigned char code[64], thread[STUB_PAGE - MA_LOAD_THREAD_OFF];
	size_t len, tlen;
	long addr;
	int rc;

	if (inj->stub)
		return 0;
	len = stub_code(inj, code, sizeof(code), NULL);
	tlen = ma_arch_load_thread(thread, sizeof(thread));
	addr = (long)inj->stub_found;
	/* none yet: libc's mmap, returning into libc's restorer */
	if (!addr && (!inj->mmap_fn ||
		      (rc = call_via_restorer(inj, inj->mmap_fn, args, 6, SYS_mmap, &addr, err)) != 0))
		return inj->mmap_fn ? rc : ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
							"no mmap in the libc of process %d",
							(int)inj->pid);
	if (addr < 0 && addr > -4096)
		return ma_inj_page_failed(err, inj->pid, (int)-addr);
	inj->stub = (unsigned long)addr;
	/* the same bytes for every thread: rewritten only when new or when the
	 * signal differs.  A read-only page: written through ptrace
	 * (process_vm_writev refuses), which needs the traced thread's id. */
	if ((bytes_differ(inj, inj->stub, code, len) &&
	     ma_inj_mem_write(inj->tid, inj->stub, code, len)) ||
	    (tlen && bytes_differ(inj, inj->stub + MA_LOAD_THREAD_OFF, thread, tlen) &&
	     ma_inj_mem_write(inj->tid, inj->stub + MA_LOAD_THREAD_OFF, thread, tlen)))
		return ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write the stub in process %d",
				   (int)inj->pid);
	ma_inj_checkpoint(MA_STEP_STUB);
	return 0;
}

/* Through libc's restorer (the stub cannot return from its own unmapping). */
void ma_inj_stub_remove(struct ma_inj *inj, unsigned long munmap_fn)
{
	unsigned long args[2] = { inj->stub, STUB_PAGE };
	long ret;

	if (!inj->stub || inj->stub_found || inj->abandoned || !munmap_fn)
		return;
	if (call_via_restorer(inj, munmap_fn, args, 2, SYS_munmap, &ret, NULL) == 0 && ret == 0)
		inj->stub = 0;
}

void ma_inj_stub_unmap_later(pid_t pid, unsigned long stub, unsigned long munmap_fn)
{
	struct ma_inj *inj;

	if (ma_inj_seize(pid, 0, &inj, NULL))
		return;
	if (ma_inj_find_safe_point(inj, 2000, NULL) == 0 && inj->stub_found == stub &&
	    ma_inj_prepare(inj, NULL) == 0) {
		inj->stub = stub;
		inj->stub_found = 0;   /* ours after all: ma_inj_stub_remove may unmap it */
		ma_inj_stub_remove(inj, munmap_fn);
	}
	ma_inj_release(inj);
}

void ma_inj_abandon(struct ma_inj *inj)
{
	int st;

	inj->abandoned = 1;
	if (ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0) == -1)
		return;
	st = ma_inj_wait(inj, ma_inj_now_ms() + 1000, NULL);
	if (st < 0)
		return;   /* not stopped: the kernel detaches when we exit */
	/* a signal it stopped for goes on with it */
	ptrace(PTRACE_DETACH, inj->tid, 0,
	       (void *)(long)((st >> 16) == 0 && WSTOPSIG(st) != (SIGTRAP | 0x80) ? WSTOPSIG(st) : 0));
}

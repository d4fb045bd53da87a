/* arch_x86_64.c — x86_64 registers, SysV calling convention, syscall restart. */
#if !defined(__x86_64__)
#error "the injector supports x86_64 only: add an arch_<cpu>.c implementing arch.h"
#endif

#include "config.h"
#include "injector/arch.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>

/* Kernel-internal return codes of an interrupted syscall (include/linux/errno.h). */
#define K_ERESTARTSYS 512
#define K_ERESTARTNOINTR 513
#define K_ERESTARTNOHAND 514
#define K_ERESTART_RESTARTBLOCK 516

#define XSTATE_MAX 16384 /* AVX-512 needs ~2.7 KiB, AMX ~11 KiB */
#define REDZONE 128

struct ma_arch_state {
	struct user_regs_struct regs;
	int have_xstate;                 /* else fp holds the FXSAVE area */
	size_t xlen;
	struct user_fpregs_struct fp;
	unsigned char xstate[XSTATE_MAX] __attribute__((aligned(64)));
};

struct ma_arch_state *ma_arch_state_new(void)
{
	return calloc(1, sizeof(struct ma_arch_state));
}

void ma_arch_state_free(struct ma_arch_state *s)
{
	free(s);
}

void ma_arch_state_copy(struct ma_arch_state *dst, const struct ma_arch_state *src)
{
	memcpy(dst, src, sizeof(*dst));
}

int ma_arch_get_gp(pid_t tid, struct ma_arch_state *s)
{
	return ptrace(PTRACE_GETREGS, tid, 0, &s->regs) == -1 ? -1 : 0;
}

int ma_arch_set_gp(pid_t tid, const struct ma_arch_state *s)
{
	return ptrace(PTRACE_SETREGS, tid, 0, &s->regs) == -1 ? -1 : 0;
}

int ma_arch_get(pid_t tid, struct ma_arch_state *s)
{
	struct iovec iov = { s->xstate, sizeof(s->xstate) };

	if (ma_arch_get_gp(tid, s))
		return -1;
	/* XSTATE covers the AVX/AVX-512 upper halves that FXSAVE misses. */
	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == 0) {
		s->have_xstate = 1;
		s->xlen = iov.iov_len;
		return 0;
	}
	s->have_xstate = 0;
	return ptrace(PTRACE_GETFPREGS, tid, 0, &s->fp) == -1 ? -1 : 0;
}

int ma_arch_set(pid_t tid, const struct ma_arch_state *s)
{
	if (s->have_xstate) {
		struct iovec iov = { (void *)s->xstate, s->xlen };
		if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov) == -1)
			return -1;
	} else if (ptrace(PTRACE_SETFPREGS, tid, 0, &s->fp) == -1) {
		return -1;
	}
	return ma_arch_set_gp(tid, s);
}

unsigned long ma_arch_pc(const struct ma_arch_state *s) { return s->regs.rip; }
unsigned long ma_arch_sp(const struct ma_arch_state *s) { return s->regs.rsp; }
unsigned long ma_arch_retval(const struct ma_arch_state *s) { return s->regs.rax; }
unsigned long ma_arch_redzone(void) { return REDZONE; }

int ma_arch_setup_call(struct ma_arch_state *s, unsigned long func,
		       const unsigned long *args, int nargs, unsigned long stack_top,
		       unsigned long *ret_slot, size_t *ret_slot_len)
{
	unsigned long long *argreg[MA_ARCH_MAX_ARGS] = {
		&s->regs.rdi, &s->regs.rsi, &s->regs.rdx,
		&s->regs.rcx, &s->regs.r8, &s->regs.r9,
	};
	unsigned long sp;
	int i;

	if (nargs < 0 || nargs > MA_ARCH_MAX_ARGS)
		return -1;
	for (i = 0; i < nargs; i++)
		*argreg[i] = args[i];
	/* 16-byte aligned before the "call", then the pushed return address:
	 * the callee starts with rsp % 16 == 8 as after a real call. */
	sp = stack_top & ~15UL;
	sp -= 8;
	*ret_slot = sp;
	*ret_slot_len = 8;
	s->regs.rsp = sp;
	s->regs.rip = func;
	s->regs.rax = 0;                 /* no vector registers used (varargs) */
	s->regs.orig_rax = (unsigned long long)-1;
	s->regs.eflags &= ~(0x400ULL | 0x100ULL);   /* DF clear per ABI, no TF */
	return 0;
}

int ma_arch_at_return_trap(const struct ma_arch_state *s)
{
	return s->regs.rip == 0;
}

long ma_arch_syscall_nr(const struct ma_arch_state *s, long *ret)
{
	if (ret)
		*ret = (long)s->regs.rax;
	return (long)s->regs.orig_rax;
}

int ma_arch_is_restart(long ret)
{
	return ret == -K_ERESTARTSYS || ret == -K_ERESTARTNOINTR ||
	       ret == -K_ERESTARTNOHAND || ret == -K_ERESTART_RESTARTBLOCK;
}

void ma_arch_forget_syscall(struct ma_arch_state *s)
{
	s->regs.orig_rax = (unsigned long long)-1;
}

void ma_arch_restart_syscall(struct ma_arch_state *s)
{
	long nr = (long)s->regs.orig_rax, ret = (long)s->regs.rax;

	if (nr < 0 || !ma_arch_is_restart(ret))
		return;
	s->regs.rax = ret == -K_ERESTART_RESTARTBLOCK ? SYS_restart_syscall
						      : (unsigned long long)nr;
	s->regs.rip -= 2;                   /* length of "syscall" */
	s->regs.orig_rax = (unsigned long long)-1;
}

void ma_arch_eintr_to_restart(struct ma_arch_state *s)
{
	long nr = (long)s->regs.orig_rax;

	if ((long)s->regs.rax != -EINTR)
		return;
	switch (nr) {
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
#endif
		s->regs.rax = (unsigned long long)-K_ERESTARTNOHAND;
		break;
	default:
		break;
	}
}

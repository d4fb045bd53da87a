/* arch_x86_64.c — x86_64 registers, SysV calling convention, syscall
 * restart, the rt_sigreturn frame and the return stub. */
#if !defined(__x86_64__)
#error "arch_x86_64.c built for another CPU: configure chooses injector/arch_<cpu>.c"
#endif

#include "config.h"
#include "injector/arch.h"

#include <cpuid.h>
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
unsigned long ma_arch_tp(const struct ma_arch_state *s) { return s->regs.fs_base; }

/* [endbr64] mov slot(%rip),%rax; add %fs:0,%rax; ret — glibc's, built
 * with or without CET. */
int ma_arch_errno_slot(const unsigned char *code, size_t len, unsigned long code_addr,
		       unsigned long *slot)
{
	static const unsigned char endbr[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const unsigned char add_tp_ret[] = { 0x64, 0x48, 0x03, 0x04, 0x25, 0, 0, 0, 0, 0xc3 };
	size_t at = len >= sizeof(endbr) && !memcmp(code, endbr, sizeof(endbr)) ? sizeof(endbr) : 0;
	int32_t rel;

	if (len < at + 7 + sizeof(add_tp_ret) || code[at] != 0x48 || code[at + 1] != 0x8b ||
	    code[at + 2] != 0x05 || memcmp(code + at + 7, add_tp_ret, sizeof(add_tp_ret)))
		return -1;
	memcpy(&rel, code + at + 3, sizeof(rel));
	*slot = code_addr + at + 7 + (unsigned long)(long)rel;
	return 0;
}

int ma_arch_setup_call(struct ma_arch_state *s, unsigned long func,
		       const unsigned long *args, int nargs, unsigned long frame)
{
	unsigned long long *argreg[MA_ARCH_MAX_ARGS] = {
		&s->regs.rdi, &s->regs.rsi, &s->regs.rdx,
		&s->regs.rcx, &s->regs.r8, &s->regs.r9,
	};
	int i;

	/* the callee starts with rsp % 16 == 8, as after a real call */
	if (nargs < 0 || nargs > MA_ARCH_MAX_ARGS || frame % 16 != 8)
		return -1;
	for (i = 0; i < nargs; i++)
		*argreg[i] = args[i];
	s->regs.rsp = frame;
	s->regs.rip = func;
	s->regs.rax = 0;                 /* no vector registers used (varargs) */
	s->regs.orig_rax = (unsigned long long)-1;
	s->regs.eflags &= ~(0x400ULL | 0x100ULL);   /* DF clear per ABI, no TF */
	return 0;
}

static int is_restart(long ret)
{
	return ret == -K_ERESTARTSYS || ret == -K_ERESTARTNOINTR ||
	       ret == -K_ERESTARTNOHAND || ret == -K_ERESTART_RESTARTBLOCK;
}

void ma_arch_restart_syscall(struct ma_arch_state *s)
{
	long nr = (long)s->regs.orig_rax, ret = (long)s->regs.rax;

	if (nr >= 0 && is_restart(ret)) {
		s->regs.rax = ret == -K_ERESTART_RESTARTBLOCK ? SYS_restart_syscall
							      : (unsigned long long)nr;
		s->regs.rip -= 2;           /* length of "syscall" */
	}
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

/* The kernel's struct rt_sigframe up to uc_sigmask (uapi asm/sigcontext.h,
 * asm/ucontext.h): what rt_sigreturn reads at sp - 8. */
struct sigframe {
	uint64_t pretcode;
	uint64_t uc_flags, uc_link;
	uint64_t ss_sp;
	int32_t ss_flags, ss_pad;
	uint64_t ss_size;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
	uint64_t sigmask;
};

#define UC_FLAGS 0x7            /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
#define SIGINFO_SIZE 128        /* the rest of struct rt_sigframe */
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
#define SW_BYTES_OFFSET 464     /* struct _fpx_sw_bytes in the FXSAVE area */
#define XSAVE_HDR_OFFSET 512    /* XSTATE_BV, the components present */
#define XSAVE_MIN 576           /* FXSAVE area and XSAVE header */

static void fill_regs(struct sigframe *f, const struct user_regs_struct *r)
{
	f->r8 = r->r8; f->r9 = r->r9; f->r10 = r->r10; f->r11 = r->r11;
	f->r12 = r->r12; f->r13 = r->r13; f->r14 = r->r14; f->r15 = r->r15;
	f->rdi = r->rdi; f->rsi = r->rsi; f->rbp = r->rbp; f->rbx = r->rbx;
	f->rdx = r->rdx; f->rax = r->rax; f->rcx = r->rcx; f->rsp = r->rsp;
	f->rip = r->rip; f->eflags = r->eflags;
	f->cs = (uint16_t)r->cs; f->gs = (uint16_t)r->gs; f->fs = (uint16_t)r->fs;
	f->ss = (uint16_t)r->ss;
}

/* The bytes of the XSAVE image a signal frame carries: up to the end of
 * the last component the header marks present (standard-format offsets,
 * CPUID leaf 0xd).  ptrace's image spans every feature of XCR0 (AMX tile
 * data included, 11 KiB); the kernel's rt_sigreturn takes an xstate_size
 * above the thread's own (no AMX permission: 2.8 KiB) for an FXSAVE-only
 * frame and zeroes the AVX upper halves, zmm16-31 and the masks. */
static size_t frame_xsize(const struct ma_arch_state *s)
{
	uint64_t bv;
	size_t end = XSAVE_MIN;
	unsigned int i, size, off, ecx, edx;

	memcpy(&bv, s->xstate + XSAVE_HDR_OFFSET, sizeof(bv));
	for (i = 2; i < 64; i++) {
		if (!(bv & (1ULL << i)))
			continue;
		__cpuid_count(0xd, i, size, off, ecx, edx);
		if (off != 0 && (size_t)off + size > end)
			end = (size_t)off + size;
	}
	return end < s->xlen ? end : s->xlen;
}

/* The XSAVE image as a signal frame carries it: ptrace puts XCR0 where
 * the frame's software bytes go (magic, sizes, features) and no magic2. */
static size_t fill_fpstate(unsigned char *fp, const struct ma_arch_state *s)
{
	uint32_t sw[4], magic2 = FP_XSTATE_MAGIC2;
	uint64_t xcr0;
	size_t xsize;

	if (!s->have_xstate) {   /* FXSAVE only: restored as such */
		memcpy(fp, &s->fp, sizeof(s->fp));
		memset(fp + SW_BYTES_OFFSET, 0, 48);
		return sizeof(s->fp);
	}
	xsize = frame_xsize(s);
	memcpy(fp, s->xstate, xsize);
	memcpy(&xcr0, fp + SW_BYTES_OFFSET, sizeof(xcr0));
	memset(fp + SW_BYTES_OFFSET, 0, 48);
	sw[0] = FP_XSTATE_MAGIC1;
	sw[1] = (uint32_t)xsize + sizeof(magic2);         /* extended_size */
	memcpy(fp + SW_BYTES_OFFSET, sw, 8);
	memcpy(fp + SW_BYTES_OFFSET + 8, &xcr0, 8);       /* xfeatures */
	sw[0] = (uint32_t)xsize;                          /* xstate_size */
	memcpy(fp + SW_BYTES_OFFSET + 16, sw, 4);
	memcpy(fp + xsize, &magic2, sizeof(magic2));
	return xsize + sizeof(magic2);
}

size_t ma_arch_sigframe(const struct ma_arch_state *resume, uint64_t mask,
			unsigned long top, unsigned long ret, void *buf, size_t size,
			unsigned long *frame)
{
	size_t fplen = (resume->have_xstate ? frame_xsize(resume) : sizeof(resume->fp)) + 4;
	unsigned long fp_at = (top - fplen) & ~63UL;         /* XRSTOR wants 64 */
	unsigned long f_at = ((fp_at - sizeof(struct sigframe) - SIGINFO_SIZE) & ~15UL) - 8;
	size_t len = top - f_at;
	struct sigframe f;

	if (len > size)
		return 0;
	memset(buf, 0, len);
	memset(&f, 0, sizeof(f));
	f.pretcode = ret;
	f.uc_flags = UC_FLAGS;
	/* An invalid mode makes rt_sigreturn leave the alternate signal stack
	 * as it is (do_sigaltstack fails, the error is ignored). */
	f.ss_flags = 4;
	fill_regs(&f, &resume->regs);
	f.fpstate = fp_at;
	f.sigmask = mask;
	memcpy(buf, &f, sizeof(f));
	fill_fpstate((unsigned char *)buf + (fp_at - f_at), resume);
	*frame = f_at;
	return len;
}

static const unsigned char restorer[] = {
	0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00,   /* mov $15, %rax (rt_sigreturn) */
	0x0f, 0x05,                                 /* syscall */
};

const unsigned char *ma_arch_restorer_code(size_t *len)
{
	*len = sizeof(restorer);
	return restorer;
}

static unsigned char *put_imm(unsigned char *p, unsigned char op, uint32_t v)
{
	*p++ = op;
	memcpy(p, &v, 4);
	return p + 4;
}

size_t ma_arch_stub(unsigned char *buf, size_t size, pid_t pid, int sig, size_t *stop_off)
{
	unsigned char *p = buf;

	if (size < 36)
		return 0;
	*p++ = 0x49; *p++ = 0x89; *p++ = 0xc4;            /* mov %rax, %r12 */
	p = put_imm(p, 0xb8, SYS_gettid);                 /* mov $nr, %eax */
	*p++ = 0x0f; *p++ = 0x05;                         /* syscall */
	*p++ = 0x89; *p++ = 0xc6;                         /* mov %eax, %esi */
	p = put_imm(p, 0xb8, SYS_tgkill);                 /* mov $nr, %eax */
	p = put_imm(p, 0xbf, (uint32_t)pid);              /* mov $pid, %edi */
	p = put_imm(p, 0xba, (uint32_t)sig);              /* mov $sig, %edx */
	*p++ = 0x0f; *p++ = 0x05;                         /* syscall */
	*stop_off = (size_t)(p - buf);
	p = put_imm(p, 0xb8, SYS_rt_sigreturn);           /* mov $15, %eax */
	*p++ = 0x0f; *p++ = 0x05;                         /* syscall */
	return (size_t)(p - buf);
}

unsigned long ma_arch_stub_result(const struct ma_arch_state *s)
{
	return s->regs.r12;
}

/* The loader thread's start routine, assembled here but never run here:
 * its bytes are copied into the target's stub page.  Offsets are those of
 * struct ma_load_block (inj_internal.h, checked in load_thread.c).  On
 * entry rsp % 16 == 8; three words pushed make calls aligned.  Without an
 * entry (a library only) arg is the library's soname: a library of that
 * soname loaded already is not loaded again. */
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	"ma_x86_load_thread:\n"
	"\tpush %rbx\n\tpush %r12\n\tsub $8, %rsp\n"
	"\tmov %rdi, %rbx\n"
	"\tmov $186, %eax\n\tsyscall\n"    /* gettid(), for the injector */
	"\tmov %rax, 120(%rbx)\n"
	"\tcall *56(%rbx)\n"              /* pthread_self() */
	"\tmov %rax, %rdi\n"
	"\tcall *64(%rbx)\n"              /* pthread_detach(self): nobody joins */
	"\tmov $157, %eax\n\tmov $15, %edi\n\tlea 128(%rbx), %rsi\n"
	"\tsyscall\n"                     /* prctl(PR_SET_NAME, name) */
	"\tcmpq $0, 88(%rbx)\n\tjne 8f\n"  /* no entry: a library only */
	"\tmov 96(%rbx), %rdi\n\ttest %rdi, %rdi\n\tjz 9f\n"
	"\tmov 72(%rbx), %rsi\n\tand $-4, %rsi\n\tor $5, %rsi\n"
	"\tcall *32(%rbx)\n"              /* dlopen(soname, RTLD_LAZY | RTLD_NOLOAD) */
	"\ttest %rax, %rax\n\tjnz 1f\n"  /* loaded already */
	"9:\tmov 80(%rbx), %rdi\n\tmov 72(%rbx), %rsi\n"
	"\tcall *32(%rbx)\n"              /* dlopen(path, mode) */
	"\ttest %rax, %rax\n\tjz 2f\n"
	"1:\tmov $1, %eax\n\tjmp 4f\n"
	"8:\tmov 80(%rbx), %rdi\n\tmov 72(%rbx), %rsi\n"
	"\tcall *32(%rbx)\n"              /* dlopen(path, mode) */
	"\ttest %rax, %rax\n\tjz 2f\n"
	"\tmov %rax, %rdi\n\tmov 88(%rbx), %rsi\n"
	"\tcall *40(%rbx)\n"              /* dlsym(handle, entry) */
	"\ttest %rax, %rax\n\tjz 3f\n"
	"\tmov 96(%rbx), %rdi\n"
	"\tcall *%rax\n"                  /* entry(arg) */
	"\tmovslq %eax, %rax\n\tmov %rax, 16(%rbx)\n"
	"\tmov $1, %eax\n\tjmp 4f\n"
	"2:\tmov 48(%rbx), %rax\n\ttest %rax, %rax\n\tjz 5f\n"
	"\tcall *%rax\n"                  /* dlerror() */
	"\tmov %rax, 24(%rbx)\n"
	"5:\tmov $2, %eax\n\tjmp 4f\n"
	"3:\tmov $3, %eax\n"
	"4:\tmov %rax, 0(%rbx)\n"         /* the state last: x86 keeps store order */
	"\tmov $5000, %r12d\n"
	"6:\tcmpq $0, 8(%rbx)\n\tjne 7f\n"
	"\tmov $35, %eax\n\tlea 104(%rbx), %rdi\n\txor %esi, %esi\n"
	"\tsyscall\n"                     /* nanosleep(1 ms) until the ack */
	"\tdec %r12d\n\tjnz 6b\n"
	"7:\tmov $11, %eax\n\tmov %rbx, %rdi\n\tmov $4096, %esi\n"
	"\tsyscall\n"                     /* munmap(block): not touched after */
	"\txor %eax, %eax\n"
	"\tadd $8, %rsp\n\tpop %r12\n\tpop %rbx\n\tret\n"
	"ma_x86_load_thread_end:\n"
	".popsection\n");
extern const unsigned char ma_x86_load_thread[] __attribute__((visibility("hidden")));
extern const unsigned char ma_x86_load_thread_end[] __attribute__((visibility("hidden")));

size_t ma_arch_load_thread(unsigned char *buf, size_t size)
{
	size_t len = (size_t)(ma_x86_load_thread_end - ma_x86_load_thread);

	if (len > size)
		return 0;
	memcpy(buf, ma_x86_load_thread, len);
	return len;
}

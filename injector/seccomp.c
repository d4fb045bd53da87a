/* seccomp.c — a target under seccomp runs our calls under its filter: a
 * filter that kills on a syscall the attach makes in it (the stub's mmap
 * and tgkill, dlopen's, the agent's thread and socket) would kill the
 * target.  So before the first call, its filters are read
 * (PTRACE_SECCOMP_GET_FILTER: root only, in a stop of one thread) and run
 * here, classic BPF, for each of those syscalls with the arguments the
 * attach gives them: any action other than allow (or log) refuses the
 * attach, naming the syscall and the action.  Strict mode refuses always.
 * A filter we may not read (not root) is not judged: a failure later
 * names seccomp as the likely cause (ma_inj_seccomp_mode). */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif
#ifndef SECCOMP_RET_ACTION_FULL
#define SECCOMP_RET_ACTION_FULL 0xffff0000U
#endif
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS 0x80000000U
#endif
#ifndef SECCOMP_RET_LOG
#define SECCOMP_RET_LOG 0x7ffc0000U
#endif
#ifndef SECCOMP_RET_USER_NOTIF
#define SECCOMP_RET_USER_NOTIF 0x7fc00000U
#endif

#define MAX_FILTERS 32
#define MAX_INSNS 4096

struct call {
	const char *name;
	int nr;
	unsigned long args[6];
	int errno_ok;    /* a refusal the attach gets over (glibc falls back, the agent copes) */
	int every;       /* made by the hooks in any thread that allocates, not only ours */
};

/* What the attach makes the target do, with the arguments that matter. */
static const struct call calls[] = {
	{ "mmap", SYS_mmap, { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 }, 0, 0 },
	/* the hooks' own: the arena, a thread's id, locks, libunwind's
	 * address check (unwind_fds.c: a failure other than EFAULT would
	 * pass a bad address as readable) */
	{ "mmap", SYS_mmap, { 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 }, 0, 1 },
	{ "gettid", SYS_gettid, { 0 }, 0, 1 },
	{ "futex", SYS_futex, { 0 }, 0, 1 },
	{ "access", SYS_access, { 0, F_OK }, 0, 1 },
	/* a hook that meets the writer mid-sweep yields; one that fills a
	 * batch wakes the writer (its eventfd; failed, the writer's timer
	 * takes the batch) */
	{ "sched_yield", SYS_sched_yield, { 0 }, 1, 1 },
	{ "write", SYS_write, { 0 }, 1, 1 },
	{ "tgkill", SYS_tgkill, { 0, 0, SIGURG }, 0, 0 },
	{ "rt_sigreturn", SYS_rt_sigreturn, { 0 }, 0, 0 },
	{ "rt_sigprocmask", SYS_rt_sigprocmask, { 0 }, 0, 0 },
	{ "openat", SYS_openat, { (unsigned long)AT_FDCWD, 0, O_RDONLY | O_CLOEXEC }, 0, 0 },
	{ "read", SYS_read, { 0 }, 0, 0 },
	{ "pread64", SYS_pread64, { 0 }, 0, 0 },
	{ "newfstatat", SYS_newfstatat, { 0 }, 0, 0 },
	{ "close", SYS_close, { 0 }, 0, 0 },
	{ "mprotect", SYS_mprotect, { 0, 0, PROT_READ }, 0, 0 },
	{ "munmap", SYS_munmap, { 0 }, 0, 1 },
	{ "clone3", SYS_clone3, { 0 }, 1, 0 },
	{ "clone", SYS_clone, { 0x3d0f00 }, 0, 0 },   /* pthread_create's flags */
	{ "set_robust_list", SYS_set_robust_list, { 0 }, 1, 0 },
	{ "rseq", SYS_rseq, { 0 }, 1, 0 },
	{ "madvise", SYS_madvise, { 0 }, 1, 0 },
	{ "socket", SYS_socket, { AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0 }, 0, 0 },
	{ "connect", SYS_connect, { 0 }, 0, 0 },
	{ "sendto", SYS_sendto, { 0 }, 0, 0 },
	{ "write", SYS_write, { 0 }, 0, 0 },
	{ "poll", SYS_poll, { 0 }, 0, 0 },
	{ "eventfd2", SYS_eventfd2, { 0 }, 0, 0 },
	{ "getpid", SYS_getpid, { 0 }, 0, 0 },
	/* libunwind's address checks (unwind_fds.c), also in a hook's
	 * fallback walk in any thread */
	{ "process_vm_readv", SYS_process_vm_readv, { 0 }, 1, 1 },
	{ "getpid", SYS_getpid, { 0 }, 1, 1 },
	/* the loader thread names itself (the agent's thread only where no
	 * filter is on it); a refusal leaves the name */
	{ "prctl", SYS_prctl, { PR_SET_NAME }, 1, 0 },
	/* the agent's thread (traced: perf trace of an attach), each a call
	 * whose refusal it gets over but whose kill it would not: its stop
	 * requests (recvfrom, without which the session cannot end cleanly),
	 * the end's wait for the hooks (membarrier), the header and module
	 * map (readlink of /proc/self/exe, uname), the process's identity
	 * (pidfd_open, fstatfs), the socket's queue and buffer (ioctl
	 * TIOCOUTQ, getsockopt, setsockopt), the end (shutdown), libunwind's
	 * first look at the stack (mincore, also from the hooks' fallback
	 * walk), the loader's waits and clock (nanosleep, clock_gettime) */
	{ "recvfrom", SYS_recvfrom, { 0 }, 0, 0 },
	{ "membarrier", SYS_membarrier, { 0 }, 1, 0 },
	{ "readlink", SYS_readlink, { 0 }, 1, 0 },
	{ "uname", SYS_uname, { 0 }, 1, 0 },
	{ "pidfd_open", SYS_pidfd_open, { 0 }, 1, 0 },
	{ "fstatfs", SYS_fstatfs, { 0 }, 1, 0 },
	{ "ioctl", SYS_ioctl, { 0, TIOCOUTQ }, 1, 0 },
	{ "getsockopt", SYS_getsockopt, { 0, SOL_SOCKET }, 1, 0 },
	{ "setsockopt", SYS_setsockopt, { 0, SOL_SOCKET, SO_SNDBUF }, 1, 0 },
	{ "shutdown", SYS_shutdown, { 0, SHUT_WR }, 1, 0 },
	{ "mincore", SYS_mincore, { 0 }, 1, 1 },
	{ "nanosleep", SYS_nanosleep, { 0 }, 1, 0 },
	{ "clock_gettime", SYS_clock_gettime, { CLOCK_THREAD_CPUTIME_ID }, 1, 0 },
	/* glibc's first pthread_create in a process installs its SIGSETXID
	 * handler: in a single-threaded target, on the seized thread */
	{ "rt_sigaction", SYS_rt_sigaction, { 33 }, 1, 0 },
	{ "memfd_create", SYS_memfd_create, { 0, MFD_CLOEXEC }, 0, 0 },   /* last: the memfd load only */
};

/* One classic BPF program run on a seccomp_data; its return value. */
static uint32_t run_bpf(const struct sock_filter *f, int n, const struct seccomp_data *d)
{
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };
	for (int pc = 0; pc >= 0 && pc < n; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t k = i->k, src = BPF_SRC(i->code) == BPF_X ? x : k;
		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v = 0;
			if (BPF_MODE(i->code) == BPF_ABS && k + 4 <= sizeof *d && !(k & 3))
				memcpy(&v, (const char *)d + k, 4);
			else if (BPF_MODE(i->code) == BPF_IMM)
				v = k;
			else if (BPF_MODE(i->code) == BPF_MEM && k < BPF_MEMWORDS)
				v = mem[k];
			else if (BPF_MODE(i->code) == BPF_LEN)
				v = sizeof *d;
			else
				return SECCOMP_RET_KILL_PROCESS;   /* the kernel would not have taken it */
			*(BPF_CLASS(i->code) == BPF_LD ? &a : &x) = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k < BPF_MEMWORDS)
				mem[k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV: a = src ? a / src : 0; break;
			case BPF_MOD: a = src ? a % src : 0; break;
			case BPF_AND: a &= src; break;
			case BPF_OR: a |= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src < 32 ? a << src : 0; break;
			case BPF_RSH: a = src < 32 ? a >> src : 0; break;
			case BPF_NEG: a = -a; break;
			}
			break;
		case BPF_JMP:
			if (BPF_OP(i->code) == BPF_JA) {
				pc += (int)k;
				break;
			}
			{
				int t = BPF_OP(i->code) == BPF_JEQ ? a == src : BPF_OP(i->code) == BPF_JGT ? a > src
					: BPF_OP(i->code) == BPF_JGE ? a >= src : (a & src) != 0;
				pc += t ? i->jt : i->jf;
			}
			break;
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? a : k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	return SECCOMP_RET_KILL_PROCESS;
}

/* The filters' verdict on one call: the most severe of them all (the
 * kernel's order is the signed order of the actions). */
static uint32_t verdict(struct sock_filter *const *f, const int *n, int nf, const struct call *c)
{
	struct seccomp_data d = { .nr = c->nr, .arch = AUDIT_ARCH_X86_64 };
	uint32_t worst = SECCOMP_RET_ALLOW;
	for (int j = 0; j < 6; j++)
		d.args[j] = c->args[j];
	for (int i = 0; i < nf; i++) {
		uint32_t r = run_bpf(f[i], n[i], &d);
		if ((int32_t)(r & SECCOMP_RET_ACTION_FULL) < (int32_t)(worst & SECCOMP_RET_ACTION_FULL))
			worst = r;
	}
	return worst;
}

static const char *action_name(uint32_t r)
{
	switch (r & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_KILL_PROCESS: return "kills the process";
	case SECCOMP_RET_KILL_THREAD: return "kills the thread";
	case SECCOMP_RET_TRAP: return "sends SIGSYS";
	case SECCOMP_RET_ERRNO: return "fails it";
	case SECCOMP_RET_USER_NOTIF: return "hands it to a supervisor";
	case SECCOMP_RET_TRACE: return "hands it to a tracer";
	default: return "refuses it";
	}
}

/* The first call the filters do not let through, or NULL: of them all
 * (the thread the attach runs on, and the threads it starts, which inherit
 * its filters), or only those every thread makes (every). */
static const struct call *judge(struct sock_filter *const *f, const int *n, int nf, int memfd, int every,
				uint32_t *act)
{
	int ncalls = (int)(sizeof calls / sizeof *calls) - !memfd;
	for (int i = 0; i < ncalls; i++) {
		if (every && !calls[i].every)
			continue;
		uint32_t r = verdict(f, n, nf, &calls[i]), a = r & SECCOMP_RET_ACTION_FULL;
		if (a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_LOG || (calls[i].errno_ok && a == SECCOMP_RET_ERRNO))
			continue;
		*act = r;
		return &calls[i];
	}
	return NULL;
}

/* Every filter of the seized thread (newest first); their count, or -1
 * with errno (EACCES: not root). */
static int read_filters(pid_t tid, struct sock_filter **f, int *n)
{
	int nf = 0;
	for (; nf < MAX_FILTERS; nf++) {
		long len = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)nf, NULL);
		if (len < 0 && errno == ENOENT)
			break;
		if (len <= 0 || len > MAX_INSNS || !(f[nf] = calloc((size_t)len, sizeof **f)))
			return -1;
		n[nf] = (int)len;
		if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)(long)nf, f[nf]) != len)
			return -1;
	}
	return nf;
}

static void free_filters(struct sock_filter **f)
{
	for (int i = 0; i < MAX_FILTERS; i++) {
		free(f[i]);
		f[i] = NULL;
	}
}

/* One thread's filters (it is stopped by us) judged: the call refused, or
 * NULL (also when they cannot be read: not root, not judged). */
static const struct call *judge_thread(pid_t tid, int memfd, int every, uint32_t *act, int *unreadable)
{
	struct sock_filter *f[MAX_FILTERS] = { 0 };
	int n[MAX_FILTERS];
	int nf = read_filters(tid, f, n);
	*unreadable = nf < 0 && (errno == EACCES || errno == EPERM);   /* not root */
	const struct call *c = nf > 0 ? judge(f, n, nf, memfd, every, act) : NULL;
	free_filters(f);
	return c;
}

static int thread_mode(pid_t pid, pid_t tid)
{
	unsigned long long m = 0;
	return ma_proc_status_field(pid, tid, "Seccomp", &m, 1, 10) ? 0 : (int)m;
}

static int refuse(struct ma_inj_error *err, pid_t pid, pid_t tid, const struct call *c, uint32_t act)
{
	char who[96], status[96];
	if (tid == pid) {
		snprintf(who, sizeof who, "process %d", (int)pid);
		snprintf(status, sizeof status, "/proc/%d/status", (int)pid);
	} else {
		snprintf(who, sizeof who, "thread %d of process %d", (int)tid, (int)pid);
		snprintf(status, sizeof status, "/proc/%d/task/%d/status", (int)pid, (int)tid);
	}
	return ma_inj_fail(err, MA_INJ_ERR_SECCOMP, EPERM,
			   "a seccomp filter of %s forbids %s (it %s; Seccomp: 2 in %s), which the attach makes "
			   "%s call%s: not attaching (%s); allow %s in its filter%s", who, c->name,
			   action_name(act), status, tid == pid ? "it" : "every thread that allocates",
			   c->nr == SYS_memfd_create ? " to load the agent from memory" : "",
			   (act & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO ? "the attach would fail"
									      : "it would kill the process",
			   c->name, c->nr == SYS_memfd_create ? ", or give it a writable mount (a tmpfs)" : "");
}

static int refuse_strict(struct ma_inj_error *err, pid_t pid, pid_t tid)
{
	if (tid == pid)
		return ma_inj_fail(err, MA_INJ_ERR_SECCOMP, EPERM,
				   "process %d runs in seccomp strict mode (Seccomp: 1 in /proc/%d/status): it may "
				   "only read, write and exit, and any other call would kill it; not attaching",
				   (int)pid, (int)pid);
	return ma_inj_fail(err, MA_INJ_ERR_SECCOMP, EPERM,
			   "thread %d of process %d runs in seccomp strict mode (Seccomp: 1 in /proc/%d/task/%d/status): "
			   "any allocation it made under the agent's hooks would kill the process; not attaching",
			   (int)tid, (int)pid, (int)pid, (int)tid);
}

void ma_inj_judge_memfd(struct ma_inj *inj)
{
	inj->seccomp_memfd = 1;
}

void ma_inj_seccomp_note(struct ma_inj *inj)
{
	pid_t tids[256];
	int nt = ma_list_threads(inj->pid, tids, 256);
	inj->seccomp_any = nt <= 0;   /* unknown: judged */
	for (int i = 0; i < nt && !inj->seccomp_any; i++)
		inj->seccomp_any = thread_mode(inj->pid, tids[i]) == 2;
}

int ma_inj_thread_seccomp_ok(struct ma_inj *inj, int memfd, const char **forbidden)
{
	uint32_t act;
	*forbidden = NULL;
	if (!inj->seccomp_any)
		return 1;
	int unreadable;
	const struct call *c =
		thread_mode(inj->pid, inj->tid) == 2 ? judge_thread(inj->tid, memfd, 0, &act, &unreadable) : NULL;
	*forbidden = c ? c->name : NULL;
	return !c;
}

/* The main thread, where the attach starts, on every call (the threads it
 * starts inherit its filters), and each other thread with filters of its
 * own (installed without TSYNC, they differ) on the hooks' calls; the
 * injector itself moves only to a thread that passes them all
 * (ma_inj_thread_seccomp_ok).  Each thread is stopped briefly in turn. */
int ma_inj_check_seccomp(pid_t pid, int memfd, struct ma_inj_error *err)
{
	pid_t tids[256];
	int nt = ma_list_threads(pid, tids, 256), filtered = 0, rc, unreadable = 0;
	struct ma_inj *inj = NULL;
	const struct call *c = NULL;
	uint32_t act = 0;

	for (int i = 0; i < nt; i++) {
		int m = thread_mode(pid, tids[i]);
		if (m == 1)
			return refuse_strict(err, pid, tids[i]);
		filtered += m == 2;
	}
	if (!filtered)
		return 0;
	if ((rc = ma_inj_seize(pid, 0, &inj, err)) != 0)
		return rc;
	for (int i = 0; i < nt && !c && !unreadable; i++) {   /* unreadable: not root, none is */
		pid_t tid = tids[i];
		if (thread_mode(pid, tid) != 2)
			continue;
		if (tid != inj->tid) {   /* the next one: a brief stop each */
			ma_inj_detach_thread(inj);
			if (ma_inj_attach_thread(inj, tid, err) != 0)
				continue;   /* gone meanwhile */
		}
		c = judge_thread(tid, memfd, tid != pid, &act, &unreadable);
		if (c)
			rc = refuse(err, pid, tid, c, act);
	}
	ma_inj_release(inj);
	return c ? rc : 0;
}

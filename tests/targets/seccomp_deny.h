/* seccomp_deny.h — the filter the seccomp targets (seccomp_exec,
 * seccomp_thread) install on the calling thread: every syscall allowed
 * but one, which fails with EPERM ("errno") or kills the process
 * ("kill"); on x86-64 (another arch's calls pass).  Header-only. */
#ifndef MA_SECCOMP_DENY_H
#define MA_SECCOMP_DENY_H

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

/* "kill" or "errno" as the filter's action. */
static inline unsigned int seccomp_deny_action(const char *how)
{
	return strcmp(how, "kill") ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_KILL_PROCESS;
}

/* 0, or -1 with errno (no_new_privs or the filter refused). */
static inline int seccomp_deny_one(int nr, unsigned int deny)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, deny),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof f / sizeof *f, f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return 0;
}

#endif

/* seccomp_exec.c — runs CMD under a seccomp filter that lets everything
 * through but one syscall, which it fails (EPERM) or kills the process on,
 * or in strict mode: the targets of tests/integration/ns-seccomp.sh.
 *   seccomp_exec SYSCALL errno|kill CMD [ARG...]   (SYSCALL: a name below)
 *   seccomp_exec --strict                          (reads stdin until EOF,
 *                         printing "ready strict" first, then exits 0) */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static const struct { const char *name; int nr; } names[] = {
	{ "memfd_create", SYS_memfd_create },
	{ "process_vm_readv", SYS_process_vm_readv },
	{ "socket", SYS_socket },
};

static int strict(void)
{
	static const char msg[] = "ready strict\n";
	char c;
	if (write(1, msg, sizeof msg - 1) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) < 0)
		return 1;
	while (read(0, &c, 1) > 0)
		;
	syscall(SYS_exit, 0);   /* exit_group is not allowed in strict mode */
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--strict"))
		return strict();
	int nr = -1;
	for (size_t i = 0; argc >= 4 && i < sizeof names / sizeof *names; i++)
		if (!strcmp(argv[1], names[i].name))
			nr = names[i].nr;
	if (nr < 0 || (strcmp(argv[2], "errno") && strcmp(argv[2], "kill"))) {
		fprintf(stderr, "usage: seccomp_exec memfd_create|process_vm_readv|socket errno|kill CMD...\n");
		return 2;
	}
	unsigned int deny = strcmp(argv[2], "kill") ? SECCOMP_RET_ERRNO | EPERM : SECCOMP_RET_KILL_PROCESS;
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
		perror("seccomp_exec: prctl");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror("seccomp_exec: exec");
	return 127;
}

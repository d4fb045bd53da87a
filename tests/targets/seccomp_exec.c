/* seccomp_exec.c — runs CMD under a seccomp filter that lets everything
 * through but one syscall, which it fails (EPERM) or kills the process on,
 * or in strict mode: the targets of tests/integration/ns-seccomp.sh.
 *   seccomp_exec SYSCALL errno|kill CMD [ARG...]   (SYSCALL: a name below)
 *   seccomp_exec --strict                          (reads stdin until EOF,
 *                         printing "ready strict" first, then exits 0) */
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "seccomp_deny.h"

static const struct { const char *name; int nr; } names[] = {
	{ "memfd_create", SYS_memfd_create },
	{ "process_vm_readv", SYS_process_vm_readv },
	{ "prctl", SYS_prctl },
	{ "uname", SYS_uname },
	{ "membarrier", SYS_membarrier },
	{ "recvfrom", SYS_recvfrom },
	{ "rt_sigaction", SYS_rt_sigaction },
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
	if (seccomp_deny_one(nr, seccomp_deny_action(argv[2])) < 0) {
		perror("seccomp_exec: prctl");
		return 1;
	}
	execvp(argv[3], argv + 3);
	perror("seccomp_exec: exec");
	return 127;
}

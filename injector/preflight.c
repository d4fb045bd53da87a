/* preflight.c — can we inject into this pid at all?  Each refusal has its
 * own code and a one-line message saying why and what to do. */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PF_KTHREAD 0x00200000UL
#define CAP_SYS_PTRACE_BIT 19

static int have_cap_sys_ptrace(void)
{
	unsigned long long cap = 0;

	if (ma_proc_status_field(getpid(), 0, "CapEff", &cap, 1, 16))
		return geteuid() == 0;
	return (cap >> CAP_SYS_PTRACE_BIT) & 1;
}

static int yama_scope(void)
{
	char buf[32];

	if (ma_proc_read_file("/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)))
		return -1;      /* no Yama: classic permissions only */
	return atoi(buf);
}

static int is_descendant(pid_t pid)
{
	struct ma_proc_stat ps;
	int hops;

	for (hops = 0; pid > 1 && hops < 4096; hops++) {
		if (ma_proc_stat(pid, &ps))
			return 0;
		if (ps.ppid == getpid())
			return 1;
		pid = ps.ppid;
	}
	return 0;
}

static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
	return buf;
}

static int check_permission(pid_t pid, struct ma_inj_error *err)
{
	unsigned long long uids[4] = { 0 }, gids[4] = { 0 };
	uid_t me = getuid();
	int cap = have_cap_sys_ptrace() || ma_inj_owns_user_ns(pid), scope = yama_scope(), i, same = 1;
	char name[64];

	if (ma_proc_status_field(pid, 0, "Uid", uids, 4, 10) == 0 &&
	    ma_proc_status_field(pid, 0, "Gid", gids, 4, 10) == 0) {
		for (i = 0; i < 3; i++)
			if (uids[i] != me || gids[i] != getgid())
				same = 0;
		if (!same && !cap)
			return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, EPERM,
					   "process %d belongs to %s, not to you: run memattach as that user, "
					   "or as root (CAP_SYS_PTRACE)", (int)pid,
					   user_name((uid_t)uids[1], name, sizeof(name)));
		/* Yours, but not dumpable: the kernel refuses you all the same. */
		if (same && !cap && ma_proc_dumpable(pid) == 0)
			return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, EPERM,
					   "process %d is yours but not dumpable (it called "
					   "prctl(PR_SET_DUMPABLE, 0), or changed its credentials): only "
					   "root (CAP_SYS_PTRACE) may trace it; run memattach as root",
					   (int)pid);
	}
	switch (scope) {
	case 1:
		if (!cap && !is_descendant(pid))
			return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, EPERM,
					   "kernel.yama.ptrace_scope is 1: only a parent may trace process %d; "
					   "run memattach as root (CAP_SYS_PTRACE), or "
					   "'sysctl kernel.yama.ptrace_scope=0'", (int)pid);
		break;
	case 2:
		if (!cap)
			return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, EPERM,
					   "kernel.yama.ptrace_scope is 2: only root (CAP_SYS_PTRACE) may "
					   "attach to process %d; run memattach as root", (int)pid);
		break;
	case 3:
		return ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, EPERM,
				   "kernel.yama.ptrace_scope is 3: ptrace is disabled on this system until "
				   "reboot; use 'memattach run' to start the program under memattach instead");
	default:
		break;
	}
	return 0;
}

/* 1 when the executable has PT_INTERP (needs the dynamic loader). */
static int has_interp(pid_t pid, struct ma_inj_error *err)
{
	char path[64];
	Elf *e;
	size_t i, phnum;
	int fd, found = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			return -ma_inj_fail(err, MA_INJ_ERR_NOT_PERMITTED, errno,
					    "cannot read process %d's executable (%s): run memattach as "
					    "the process's user or as root", (int)pid, strerror(errno));
		return -ma_inj_fail(err, MA_INJ_ERR_KERNEL_THREAD, errno,
				    "process %d has no executable (kernel thread?): nothing to attach to",
				    (int)pid);
	}
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (e && elf_getphdrnum(e, &phnum) == 0) {
		for (i = 0; i < phnum; i++) {
			GElf_Phdr ph;
			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP)
				found = 1;
		}
	}
	if (e)
		elf_end(e);
	close(fd);
	return found;
}

/* Kernel threads have no executable; a user process always has one
 * (readlink works even when the file was deleted). */
static int no_exe(pid_t pid)
{
	char path[64], target[16];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return readlink(path, target, sizeof(target)) < 0 && errno == ENOENT;
}

int ma_inj_check_target(pid_t pid, struct ma_inj_error *err)
{
	unsigned long long tgid = 0;
	unsigned long lo, hi;
	struct ma_proc_stat ps;
	char cmdline[16], path[64];
	int rc;

	if (pid <= 0)
		return ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, EINVAL,
				   "%d is not a valid pid: give the pid of a running process", (int)pid);
	if (ma_proc_stat(pid, &ps))
		return ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, errno,
				   "no process with pid %d: check the pid (ps -p %d)", (int)pid, (int)pid);
	if (ps.state == 'Z' || ps.state == 'X')
		return ma_inj_fail(err, MA_INJ_ERR_ZOMBIE, 0,
				   "process %d is a zombie (it has exited; its parent has not reaped it): "
				   "nothing to attach to", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if ((ps.flags & PF_KTHREAD) ||
	    (ma_proc_read_file(path, cmdline, sizeof(cmdline)) == 0 && cmdline[0] == '\0' &&
	     no_exe(pid)))
		return ma_inj_fail(err, MA_INJ_ERR_KERNEL_THREAD, 0,
				   "process %d is a kernel thread: only user processes can be attached",
				   (int)pid);
	if (ma_proc_status_field(pid, 0, "Tgid", &tgid, 1, 10) == 0 && (pid_t)tgid == getpid())
		return ma_inj_fail(err, MA_INJ_ERR_SELF, 0,
				   "process %d is memattach itself: give the pid of another process", (int)pid);
	if (tgid && (pid_t)tgid != pid)
		return ma_inj_fail(err, MA_INJ_ERR_NO_PROCESS, 0,
				   "%d is a thread of process %llu, not a process: give the process's "
				   "pid (%llu)", (int)pid, tgid, tgid);
	if ((rc = check_permission(pid, err)) != 0)
		return rc;
	rc = has_interp(pid, err);
	if (rc < 0)
		return -rc;
	if (rc == 0)
		return ma_inj_fail(err, MA_INJ_ERR_STATIC, 0,
				   "process %d is statically linked (no dynamic loader): the agent cannot be "
				   "loaded into it; rebuild it dynamically linked", (int)pid);
	if (ma_maps_module_range(pid, "libc.so", &lo, &hi, NULL, 0) &&
	    ma_maps_module_range(pid, "libc-", &lo, &hi, NULL, 0))
		return ma_inj_fail(err, MA_INJ_ERR_STATIC, 0,
				   "process %d has no glibc mapped (not a glibc program, or still starting up): "
				   "the agent cannot be loaded into it", (int)pid);
	return 0;
}

/* util.c — small helpers: clock, sleeping, /proc files, memory access. */
#include "config.h"
#include "injector/inj_internal.h"

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

double ma_inj_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void ma_inj_sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

int ma_list_threads(pid_t pid, pid_t *tids, int max)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (max < 1)
		return 0;
	tids[n++] = pid;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d)) != NULL && n < max) {
		long t = strtol(de->d_name, NULL, 10);
		if (t > 0 && t != pid)
			tids[n++] = (pid_t)t;
	}
	closedir(d);
	qsort(tids + 1, (size_t)(n - 1), sizeof(pid_t), cmp_pid);
	return n;
}

/* process_vm_* is one syscall for any length; PEEK/POKE is the fallback
 * for kernels or LSMs that refuse it. */
int ma_inj_mem_read(pid_t pid, unsigned long addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, r = { (void *)addr, len };
	size_t i;

	if (process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)len)
		return 0;
	for (i = 0; i < len; i += sizeof(long)) {
		unsigned long a = addr + i;
		long w;
		size_t k = len - i < sizeof(long) ? len - i : sizeof(long);

		errno = 0;
		w = ptrace(PTRACE_PEEKDATA, pid, (void *)a, 0);
		if (w == -1 && errno)
			return -1;
		memcpy((char *)buf + i, &w, k);
	}
	return 0;
}

int ma_inj_mem_write(pid_t pid, unsigned long addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, r = { (void *)addr, len };
	size_t i;

	if (process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)len)
		return 0;
	for (i = 0; i < len; i += sizeof(long)) {
		unsigned long a = addr + i;
		long w = 0;
		size_t k = len - i < sizeof(long) ? len - i : sizeof(long);

		if (k < sizeof(long)) {      /* keep the bytes after the end */
			errno = 0;
			w = ptrace(PTRACE_PEEKDATA, pid, (void *)a, 0);
			if (w == -1 && errno)
				return -1;
		}
		memcpy(&w, (const char *)buf + i, k);
		if (ptrace(PTRACE_POKEDATA, pid, (void *)a, (void *)w) == -1)
			return -1;
	}
	return 0;
}

/* While a thread of the target is stopped, the tracer must not queue for a
 * CPU behind the machine's load: from the seize to the release it runs
 * SCHED_FIFO at the lowest realtime priority, when permitted (root,
 * CAP_SYS_NICE or RLIMIT_RTPRIO); otherwise as it was.  Its waits sleep,
 * and the kernel keeps 5% of each CPU for others (sched_rt_runtime_us). */
void ma_inj_hurry(int on)
{
	static int saved, policy;
	static struct sched_param param;
	struct sched_param rt = { .sched_priority = 1 };

	if (on && !saved) {
		policy = sched_getscheduler(0);
		if (policy >= 0 && sched_getparam(0, &param) == 0 &&
		    sched_setscheduler(0, SCHED_FIFO, &rt) == 0)
			saved = 1;
	} else if (!on && saved) {
		sched_setscheduler(0, policy, &param);
		saved = 0;
	}
}

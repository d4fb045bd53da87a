/* process_identity.c — the first record on every connection: which
 * process this is (ProcessIdentity).  A pid alone cannot say it: a
 * followed child that was killed may have its pid taken by a new child
 * before memattach accepts the first one's connection, and memattach must
 * still tell that new process from a program exec'd in place.  Both the
 * pidfs inode and the start time survive exec and differ between two
 * processes (the start time only to a clock tick).  Written straight to
 * the socket just connected (empty: the write cannot block), before the
 * writer thread sends anything; no allocation (a fork's child handler). */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "agent_internal.h"
#include "memattach.pb-c.h"
#include "record_io.h"

#define PIDFS_MAGIC 0x50494446u

/* The inode of our pidfd when pidfds live on pidfs (unique per process
 * until reboot); 0 before Linux 6.9 (one anonymous inode for all). */
static uint64_t pidfs_inode(void)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (fd < 0)
		return 0;
	struct stat st;
	struct statfs sf;
	uint64_t ino = 0;
	if (fstatfs(fd, &sf) == 0 && (uint32_t)sf.f_type == PIDFS_MAGIC && fstat(fd, &st) == 0)
		ino = (uint64_t)st.st_ino;
	close(fd);
	return ino;
#else
	return 0;
#endif
}

/* Field 22 of /proc/self/stat (the fields after the name's last ')'
 * start at 3). */
static uint64_t start_ticks(void)
{
	char buf[1024];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = NULL;
	for (char *q = buf; *q; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return 0;
	for (int field = 2; field < 22 && *p; p++)
		if (*p == ' ')
			field++;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}

int ma_identity_send(int fd, int forked)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__ProcessIdentity id = MEMATTACH__PROCESS_IDENTITY__INIT;
	uint8_t buf[128];
	id.pid = (uint32_t)getpid();
	id.pidfs_inode = pidfs_inode();
	id.start_ticks = start_ticks();
	id.forked = forked != 0;
	rec.r_case = MEMATTACH__RECORD__R_IDENTITY;
	rec.identity = &id;
	size_t n = ma_record_pack_framed(&rec, buf);
	ssize_t w;
	while ((w = send(fd, buf, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return w == (ssize_t)n ? 0 : -1;
}

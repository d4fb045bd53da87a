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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "agent_internal.h"
#include "memattach.pb-c.h"
#include "procfs/pid_identity.h"
#include "record_io.h"

static uint64_t pidfs_inode(void)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	uint64_t ino = ma_pidfd_inode(fd);
	if (fd >= 0)
		close(fd);
	return ino;
#else
	return 0;
#endif
}

int ma_identity_send(int fd, int forked)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__ProcessIdentity id = MEMATTACH__PROCESS_IDENTITY__INIT;
	uint8_t buf[128];
	id.pid = (uint32_t)getpid();
	id.pidfs_inode = pidfs_inode();
	id.start_ticks = ma_stat_start_ticks("/proc/self/stat");
	id.forked = forked != 0;
	rec.r_case = MEMATTACH__RECORD__R_IDENTITY;
	rec.identity = &id;
	size_t n = ma_record_pack_framed(&rec, buf);
	ssize_t w;
	while ((w = send(fd, buf, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return w == (ssize_t)n ? 0 : -1;
}

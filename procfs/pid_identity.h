/* pid_identity.h — what tells a process from another that had its pid,
 * read alike by the agent (of itself: agent/process_identity.c) and the
 * CLI (of the child it started: cli/capture/peer_identity.c): the inode
 * of a pidfd on pidfs, and the start time.  Header only (the agent links
 * no library of ours); no allocation (a fork's child handler calls it). */
#ifndef MEMATTACH_PID_IDENTITY_H
#define MEMATTACH_PID_IDENTITY_H

#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define MA_PIDFS_MAGIC 0x50494446u

/* The inode of pidfd when pidfds live on pidfs (one per process until
 * reboot, the same for every pidfd of it); 0 before Linux 6.9 (one
 * anonymous inode for all). */
static inline uint64_t ma_pidfd_inode(int pidfd)
{
	struct stat st;
	struct statfs sf;
	if (pidfd >= 0 && fstatfs(pidfd, &sf) == 0 && (uint32_t)sf.f_type == MA_PIDFS_MAGIC &&
	    fstat(pidfd, &st) == 0)
		return (uint64_t)st.st_ino;
	return 0;
}

/* Field 22 of a /proc/PID/stat file (the fields after the name's last
 * ')' start at 3); 0 when unreadable. */
static inline uint64_t ma_stat_start_ticks(const char *path)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

#endif

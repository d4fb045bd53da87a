/* peer_identity.c — see peer_identity.h. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include "cli/capture/peer_identity.h"
#include "memattach.pb-c.h"
#include "procfs/pid_identity.h"
#include "record_io.h"

int ma_peer_identity_parse(const uint8_t *rec, size_t len, struct ma_peer_identity *id)
{
	Memattach__Record *r = memattach__record__unpack(NULL, len, rec);
	int ok = r && r->r_case == MEMATTACH__RECORD__R_IDENTITY;
	if (ok) {
		id->have = 1;
		id->pidfs_inode = r->identity->pidfs_inode;
		id->start_ticks = r->identity->start_ticks;
		id->forked = r->identity->forked;
	}
	if (r)
		memattach__record__free_unpacked(r, NULL);
	return ok ? 0 : -1;
}

int ma_peer_identity_peek(int fd, struct ma_peer_identity *id)
{
	uint8_t buf[256];
	uint64_t len;
	id->have = 0;
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return 1;   /* ended (or failed) before a record: none */
	int k = ma_varint_get(buf, buf + n, &len);
	if (k < 0 || (k > 0 && len > sizeof(buf) - (size_t)k))
		return 1;   /* not the small record it would be */
	if (k == 0 || (size_t)n < (size_t)k + len)
		return 0;   /* the rest is on its way (the agent writes it at once) */
	ma_peer_identity_parse(buf + k, (size_t)len, id);
	return 1;
}

int ma_peer_identity_same(const struct ma_peer_identity *was, const struct ma_peer_identity *now)
{
	if (!was->have && !now->have)
		return -1;
	/* Agents identify themselves first thing after connecting: one that
	 * did not died before it could, and is not a process that exec'd. */
	if (!was->have || !now->have)
		return 0;
	if (now->forked)
		return 0;   /* a fork's child: a process never seen before */
	if (was->pidfs_inode && now->pidfs_inode)
		return was->pidfs_inode == now->pidfs_inode;
	/* Before pidfs: the start time, to a clock tick (two processes with
	 * one pid started within one tick are taken for one). */
	if (was->start_ticks && now->start_ticks)
		return was->start_ticks == now->start_ticks;
	return -1;
}

void ma_peer_identity_of_child(pid_t pid, int pidfd, struct ma_peer_identity *id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	id->pidfs_inode = ma_pidfd_inode(pidfd);
	id->start_ticks = ma_stat_start_ticks(path);
	id->forked = 0;
	id->have = id->pidfs_inode || id->start_ticks;
}

int ma_peer_pidfd(int fd)
{
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77   /* Linux 6.5 */
#endif
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0 || len != sizeof(pidfd))
		return -1;
	return pidfd;
}

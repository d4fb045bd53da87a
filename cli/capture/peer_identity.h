/* peer_identity.h — which process is behind a connection: the agent's
 * first record, ProcessIdentity (agent/process_identity.c).  A pid
 * cannot say it, nor a pidfd opened after the connection came (the pid
 * may be another process's by then). */
#ifndef MEMATTACH_PEER_IDENTITY_H
#define MEMATTACH_PEER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ma_peer_identity {
	int have;             /* the stream began with a ProcessIdentity */
	uint64_t pidfs_inode; /* 0: unknown */
	uint64_t start_ticks; /* 0: unknown */
	int forked;
};

/* Reads a ProcessIdentity record body (rec: the Record, without framing)
 * into *id; 0, or -1 when rec is not one. */
int ma_peer_identity_parse(const uint8_t *rec, size_t len, struct ma_peer_identity *id);
/* Looks (MSG_PEEK: the bytes stay for the capture) at the first record of
 * the connection fd without waiting.  1 when known: *id filled (have 0:
 * the stream ended, or began with another record); 0 not yet come. */
int ma_peer_identity_peek(int fd, struct ma_peer_identity *id);
/* Did now's connection come from the process that made was's?  1 yes
 * (an exec in place), 0 no (a new process with that pid), -1 cannot tell
 * (neither identified itself: an agent older than the record). */
int ma_peer_identity_same(const struct ma_peer_identity *was, const struct ma_peer_identity *now);
/* The identity the agent of pid will send, known before it connects:
 * pid is the caller's child, not reaped (its pid cannot name another
 * process meanwhile; a zombie will do), pidfd a pidfd of it.  Both
 * survive its exec.  have 0 when neither could be read. */
void ma_peer_identity_of_child(pid_t pid, int pidfd, struct ma_peer_identity *id);
/* A pidfd of the process that connected on fd (SO_PEERPIDFD, Linux
 * 6.5+: the process that called connect, even when its pid names another
 * one by now), or -1. */
int ma_peer_pidfd(int fd);

#endif

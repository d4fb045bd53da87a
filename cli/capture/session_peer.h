/* session_peer.h — one listening socket, several agents: each process of a
 * followed tree (--follow-fork) connects on the socket its parent used and
 * gets a session (and capture file) of its own. */
#ifndef MEMATTACH_SESSION_PEER_H
#define MEMATTACH_SESSION_PEER_H

#include <sys/types.h>
#include "cli/capture/session.h"

/* Waits up to timeout_ms for a connection on l's socket.  1 with *fd and
 * the peer's *pid (SO_PEERCRED), 0 when none. */
int ma_session_accept_peer(struct ma_session *l, int timeout_ms, int *fd, pid_t *pid);
/* A session with no socket or directory of its own, for a connection
 * accepted elsewhere; root_prefix as in struct ma_session. */
void ma_session_init_peer(struct ma_session *s, const char *root_prefix);
/* s takes the connection fd of pid: its capture is published (renamed into
 * place) at the first one.  0, or -1 with a message (fd closed). */
int ma_session_adopt(struct ma_session *s, int fd, pid_t pid, char *err, size_t errlen);

#endif

/* rx_children.h — Tracker(follow_fork=True): children forked inside the
 * tracked block start sessions of their own (agent/fork_follow.c) on the
 * receiver's socket; each gets the capture BASE.<pid> (as `run
 * --follow-fork` names them), finished when its stream ends. */
#ifndef MEMATTACH_RX_CHILDREN_H
#define MEMATTACH_RX_CHILDREN_H

#include <limits.h>
#include <poll.h>
#include <sys/types.h>
#include "cli/capture/session.h"

struct rx_child {
	struct ma_session s;
	pid_t pid;
};

struct rx_children {
	struct rx_child **c;
	size_t n, cap;
	char base[PATH_MAX];      /* the follow_fork tracker's destination */
};

/* Takes the connections waiting on l's socket. */
void rx_children_accept(struct rx_children *k, struct ma_session *l);
/* Adds the open streams to pf (at most max); returns how many. */
size_t rx_children_poll(const struct rx_children *k, struct pollfd *pf, size_t max);
/* Moves what came on the streams pf reported; ended ones are finished. */
void rx_children_pump(struct rx_children *k, const struct pollfd *pf, size_t n);
/* Finishes the captures of the children that have exited (their streams
 * are read to their end): what the parent's stop() waits for. */
void rx_children_drain_gone(struct rx_children *k);
size_t rx_children_open(const struct rx_children *k);
void rx_children_free(struct rx_children *k);

#endif

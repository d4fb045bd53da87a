/* run_follow.h — `memattach run --follow-fork` (run_follow.c). */
#ifndef MEMATTACH_RUN_FOLLOW_H
#define MEMATTACH_RUN_FOLLOW_H

#include <signal.h>
#include <sys/types.h>
#include "cli/capture/session.h"

/* Before CMD starts: memattach becomes the subreaper of its tree.  0 or
 * -1 (message printed). */
int ma_run_follow_prepare(void);
/* Follows CMD (pid, started, its agent to connect on s) and its tree;
 * returns CMD's exit status (or memattach's error code). */
int ma_run_follow(struct ma_session *s, pid_t pid, const char *out, int quiet,
		  volatile sig_atomic_t *stop_signal);

#endif

/* threshold.h — `--dump-on-threshold`: follow an attached process without
 * writing every event, and write a snapshot of the live set the moment its
 * memory crosses a line. */
#ifndef MEMATTACH_THRESHOLD_H
#define MEMATTACH_THRESHOLD_H

#include <stdint.h>
#include <sys/types.h>
#include "cli/cmd/capture_loop.h"

struct ma_threshold_opts {
	uint64_t bytes;          /* the line */
	int on_heap;             /* 0: the process's RSS, 1: the tracked live heap */
	uint64_t duration_ns;    /* 0: wait forever */
	const char *out;         /* snapshot path */
	int quiet;
	pid_t pid;
	const char *size_text;   /* as the user wrote it, for messages */
};

/* Follows an accepted capture (c: connected, its stop signal set) until
 * the crossing, then writes the snapshot and shows its summary and flame
 * graph; stops the agent and ends the session before returning.  Returns
 * the exit code (MA_EXIT_OK after a dump). */
int ma_threshold_run(struct ma_capture *c, const struct ma_threshold_opts *o);

#endif

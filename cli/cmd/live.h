/* live.h — `memattach live --pid PID`: a full-screen view of the memory
 * live now, redrawn every interval, over the capture loop's hook. */
#ifndef MEMATTACH_LIVE_H
#define MEMATTACH_LIVE_H

#include <stdint.h>
#include <sys/types.h>
#include "cli/cmd/capture_loop.h"

struct ma_live_opts {
	pid_t pid;
	const char *comm;
	uint64_t interval_ns;    /* --interval (default 1 s) */
	const char *out;         /* -o FILE: the whole session as a capture; NULL: none */
	int quiet;
};

/* Follows an accepted capture (c connected; with -o its output open)
 * until `q`, a signal or the target's end; then stops the agent and, with
 * -o, ends the capture as --pid does.  Returns the exit code. */
int ma_live_run(struct ma_capture *c, const struct ma_live_opts *o);

#endif

/* monitor.h — continuous monitoring: `--every TIME [--keep N] [-o DIR]`
 * writes a snapshot of the live set every interval, and
 * `--dump-on-threshold SIZE --dump-count N` dumps again each time the
 * memory rises another SIZE beyond the last dump. */
#ifndef MEMATTACH_MONITOR_H
#define MEMATTACH_MONITOR_H

#include <stdint.h>
#include <sys/types.h>
#include "cli/cmd/capture_loop.h"

struct ma_monitor_opts {
	pid_t pid;
	const char *comm;
	uint64_t every_ns;       /* 0: no periodic snapshots */
	unsigned keep;           /* periodic snapshots kept (0: all) */
	const char *dir;         /* where snapshots go */
	uint64_t thr_bytes;      /* 0: no threshold */
	int on_heap;             /* the threshold watches the tracked heap, not RSS */
	const char *thr_text;
	unsigned dump_count;     /* threshold dumps at most (>= 1) */
	uint64_t duration_ns;    /* 0: until Ctrl-C */
	int quiet;
};

/* Follows an accepted capture until the duration, a signal, the target's
 * end, or (without --every) the last threshold dump.  Returns the exit
 * code: 0, 13 when the target exited, 4 when a snapshot could not be
 * written. */
int ma_monitor_run(struct ma_capture *c, const struct ma_monitor_opts *o);

#endif

/* capture_loop.h — the one capture loop of the commands that follow an agent's
 * stream (--pid, run, --dump-on-threshold; live and periodic modes later):
 * accept, pump, the status line, stop on the duration, a signal or the
 * target's end, and the end of the capture written once. */
#ifndef MEMATTACH_CAPTURE_LOOP_H
#define MEMATTACH_CAPTURE_LOOP_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/analysis/live_heap.h"
#include "cli/capture/session.h"

/* Why ma_capture_follow returned. */
enum ma_capture_end {
	MA_END_STREAM,           /* the agent closed its stream */
	MA_END_SIGNAL,           /* Ctrl-C, SIGTERM, SIGHUP */
	MA_END_DURATION,         /* --duration elapsed */
	MA_END_HOOK,             /* the command's hook said so (threshold crossed) */
	MA_END_ERROR,            /* output error: c->rc and c->note are set */
};

struct ma_capture {
	struct ma_session *s;
	pid_t pid;                        /* the target */
	uint64_t duration_ns;             /* 0: no time limit */
	volatile sig_atomic_t *stop_signal;   /* set by the command's handler */
	int status_line;                  /* show the status line (a terminal) */
	/* run: the target is our child.  Signals go to it (it decides when
	 * to end), the loop reaps it, and a stream that ends while it lives
	 * is an exec: the new program's agent connects again. */
	int child;
	int wait_status;                  /* the child's, once exited */
	/* After each pump: nonzero ends the capture (MA_END_HOOK). */
	int (*hook)(void *ctx);
	void *hook_ctx;

	/* set by the loop */
	uint64_t start_ns, last_status_ns;
	int connected, ever_connected, reconnect, exited;
	struct ma_live live;              /* the tracked heap, for the status line */
	int have_live;
	const char *note;                 /* why the capture is incomplete, or NULL */
	int rc;                           /* exit code so far */
	int reported;                     /* an error was printed already */
};

/* Ready to follow s; status_line only when stderr is a terminal. */
void ma_capture_init(struct ma_capture *c, struct ma_session *s, pid_t pid,
		     volatile sig_atomic_t *stop_signal);
/* Waits up to timeout_ms for the target's agent.  1 connected, 0 not. */
int ma_capture_connect(struct ma_capture *c, int timeout_ms);
/* Follows the stream until one of enum ma_capture_end. */
enum ma_capture_end ma_capture_follow(struct ma_capture *c);
/* Asks the agent to stop and takes what it still sends, until its stream
 * ends or 10 s pass (then c->note says so). */
void ma_capture_stop(struct ma_capture *c);
/* After the stream ended: did the target exit (13 and a message), or did
 * its agent stop sending (16)?  For --pid, with the target not our child. */
void ma_capture_judge_end(struct ma_capture *c, int quiet);
/* The end, written once: the capture trailer, the symbols, the last line
 * ("N events captured, written to OUT").  Returns c->rc. */
int ma_capture_close(struct ma_capture *c, const char *out, int quiet);

#endif

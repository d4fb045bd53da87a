/* replay_pipe.h — the replay on two threads: one reads, decodes and orders
 * the events, the caller's thread applies them (replay_pipe.c).  Private to
 * cli/analysis. */
#ifndef MEMATTACH_REPLAY_PIPE_H
#define MEMATTACH_REPLAY_PIPE_H

#include "cli/analysis/replay.h"

/* ma_replay_piped could not start its thread (or is turned off): replay
 * on one thread instead. */
#define MA_REPLAY_NO_PIPE 1

/* Calls the op of a record other than an EventBatch. */
void ma_replay_dispatch(const ma_replay_ops *ops, void *ctx, const Memattach__Record *rec);

/* Released events go to buf (cap > 0 places) from now on; ops->events
 * is called with buf when it is full or a record comes between. */
void ma_replayer_run_into(ma_replayer *p, ma_event *buf, size_t cap);

/* Reads r to its end through p (then delivers what is pending).  keep,
 * when set, takes each record but EventBatches once pushed (it owns them
 * then); else they are freed here.  0, or an error with err set. */
int ma_replay_read_all(ma_capture_reader *r, ma_replayer *p,
		       void (*keep)(void *kctx, Memattach__Record *rec), void *kctx,
		       char *err, size_t errlen);

/* ma_replay_reader's work on two threads, the callbacks on the caller's;
 * *started is set once events may have been delivered.  Returns as
 * ma_replay_reader, or MA_REPLAY_NO_PIPE with nothing done. */
int ma_replay_piped(ma_capture_reader *r, const ma_replay_ops *ops, void *ctx,
		    ma_replay_result *res, char *err, size_t errlen, int *started);

#endif

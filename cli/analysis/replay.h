/* replay.h — reads a capture and hands its events to callbacks in sequence
 * order (the true order of allocations and frees across threads), and the
 * other records as they come.  Records passed to callbacks are only valid
 * during the call. */
#ifndef MEMATTACH_REPLAY_H
#define MEMATTACH_REPLAY_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"
#include "cli/capture/capture_file.h"

/* One decoded event (an element of an EventBatch). */
/* What the replay and the analysis return on failure: the exit code
 * follows the kind, never the message's text. */
enum ma_replay_err {
	MA_ERR_BAD_INPUT = -1,   /* the capture is unreadable or corrupt */
	MA_ERR_NOMEM = -2,       /* out of memory */
};

typedef struct ma_event {
	uint64_t seq;
	uint64_t time_ns;       /* relative to Header.start_monotonic_ns */
	uint64_t addr;
	uint64_t size;          /* 0 for free-like kinds except MUNMAP/MREMAP_FREE */
	uint32_t tid;
	uint32_t kind;          /* EventKind */
	uint32_t stack;         /* Stack.id, 0 = unknown */
} ma_event;

/* Any callback may be NULL. */
typedef struct ma_replay_ops {
	void (*header)(void *ctx, const Memattach__Header *h);
	void (*event)(void *ctx, const ma_event *e);
	/* Alternative to `event`: runs of consecutive events (in seq order), so
	 * a consumer can prefetch ahead.  Used instead of `event` when set. */
	void (*events)(void *ctx, const ma_event *e, size_t n);
	void (*stack)(void *ctx, const Memattach__Stack *s);
	void (*python_frame)(void *ctx, const Memattach__PythonFrame *f);
	void (*module)(void *ctx, const Memattach__Module *m);
	void (*module_unload)(void *ctx, const Memattach__ModuleUnload *m);
	void (*thread)(void *ctx, const Memattach__ThreadInfo *t);
	/* Called after every event with seq < t->watermark was delivered and
	 * before any later one. */
	void (*tick)(void *ctx, const Memattach__Tick *t);
	void (*agent_trailer)(void *ctx, const Memattach__AgentTrailer *t);
	void (*symbol)(void *ctx, const Memattach__Symbol *s);
	void (*capture_trailer)(void *ctx, const Memattach__CaptureTrailer *t);
	/* Events the agent dropped (stall limit); in stream order. */
	void (*events_lost)(void *ctx, const Memattach__EventsLost *l);
	void (*warning)(void *ctx, const Memattach__Warning *w);
	/* The CLI's ids of a target in another pid namespace. */
	void (*target_ids)(void *ctx, const Memattach__TargetIds *t);
	/* --sample: a thread's exact counts (cumulative); in stream order. */
	void (*thread_counts)(void *ctx, const Memattach__ThreadCounts *c);
} ma_replay_ops;

typedef struct ma_replay_result {
	uint64_t records;
	uint64_t events;          /* delivered */
	uint64_t late_events;     /* arrived after their watermark: delivered out of order */
	uint64_t invalid_events;  /* kind 0 or seq reused while pending: dropped */
	uint64_t max_seq;         /* highest seq delivered + 1 (0: none) */
	uint64_t max_time_ns;     /* latest event or tick time */
	uint64_t compressed_bytes;
	int truncated;            /* ended mid-record / mid-frame / without trailer */
	ma_capture_damage damage; /* damaged frames skipped (their records are missing) */
	int has_header, has_agent_trailer, has_capture_trailer;
} ma_replay_result;

/* Replays an opened reader to its end.  0 on success; -1 with a one-line
 * message in err (corrupt data, newer format, out of memory).  On -1 the
 * events read before the error have been delivered. */
int ma_replay_reader(ma_capture_reader *r, const ma_replay_ops *ops, void *ctx,
		     ma_replay_result *res, char *err, size_t errlen);

/* The same, pushed one record at a time (a live stream): records in
 * stream order in, events in seq order out through ops. */
typedef struct ma_replayer ma_replayer;
ma_replayer *ma_replayer_new(const ma_replay_ops *ops, void *ctx, ma_replay_result *res);
/* 0, or -1 with a message (malformed batch, out of memory). */
int ma_replayer_push(ma_replayer *p, const Memattach__Record *rec, char *err, size_t errlen);
/* Delivers every event still pending (end of the stream). */
void ma_replayer_finish(ma_replayer *p);
void ma_replayer_free(ma_replayer *p);

/* 1 + the highest seq of a batch's events, in either layout (0: none),
 * read from the record as it came, unchecked (ma_replayer_push checks). */
uint64_t ma_batch_seq_end(const Memattach__EventBatch *b);

/* Opens path and replays it (see ma_replay_reader). */
int ma_replay_file(const char *path, const ma_replay_ops *ops, void *ctx,
		   ma_replay_result *res, char *err, size_t errlen);

#endif

/* rx_trackers.h — the trackers of an in-process receiver (receive.c):
 * several captures cut from the one stream of a process's agent, each
 * with its own window of seq numbers (opened and closed at the Ticks of
 * memattach_agent_sync calls) and its own threads (every thread, or the
 * one that opened it and the threads started from it, known from
 * ThreadInfo.parent_tid).  Each has its own capture file, written as the
 * stream comes, and its own live analysis (its stats()). */
#ifndef MEMATTACH_RX_TRACKERS_H
#define MEMATTACH_RX_TRACKERS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include "cli/analysis/live_heap.h"
#include "cli/capture/capture_file.h"
#include "cli/util/u64map.h"

#define RX_MAX_TRACKERS 64
#define RX_BATCH 1024

struct rx_batch {
	uint32_t tid;
	size_t n;
	ma_event e[RX_BATCH];
};

struct rx_tracker {
	unsigned id;               /* the Python side's number */
	unsigned slot;             /* its bit in the thread masks */
	uint32_t opener;           /* threads="current": the opening thread; 0: all */
	uint64_t from_seq;         /* its window starts here */
	int active;
	int write_failed;          /* said once; its stats go on */
	/* raw: the only tracker, of every thread, from the stream's start
	 * (rx_raw.c): its file gets the agent's records as they come and its
	 * analysis the records themselves, nothing rebuilt.  was_raw: it was,
	 * until a second tracker opened; events it had then are skipped */
	int raw, was_raw;
	char path[PATH_MAX];
	ma_capture_writer *w;
	struct ma_live live;
	struct rx_batch b;         /* its events not yet written */
	/* live_mode (rx_viewer.c): the socket a viewer comes to, its
	 * connection, and what it is to be sent when it comes */
	int viewer_listen, viewer_fd;
	char viewer_path[108];
	uint8_t *vbuf;
	size_t vbuf_len, vbuf_cap;
};

/* What ThreadInfo said of a thread: the trackers that own it since its
 * birth, and those that owned the thread that had its tid before. */
struct rx_thread {
	uint64_t mask, prev_mask;
	uint64_t born_seq;
	uint32_t parent;
	int known;
	/* 1 + the highest seq of its batches seen while a tracker was raw;
	 * raw_cut: that when the raw one stopped being raw (0: none) */
	uint64_t raw_end, raw_cut;
};

struct rx_hub {
	struct rx_tracker *t[RX_MAX_TRACKERS];   /* by slot; NULL: free */
	struct rx_tracker *raw;                  /* the raw one, if any */
	ma_replayer *rp;                         /* the whole stream, in seq order */
	ma_replay_result res;
	uint8_t *pre;                            /* the records a later tracker */
	size_t pre_len, pre_cap;                 /* starts with (framed) */
	ma_u64map tids;                          /* tid -> index in thr */
	struct rx_thread *thr;
	size_t nthr, thr_cap;
	uint64_t last_time_ns, last_rss;           /* the latest Tick's */
	int got_header, got_trailer;
	int ending;                              /* the stream has ended */
	FILE *talk;                              /* the answers to the Python side */
};

int rx_hub_init(struct rx_hub *h, FILE *talk);
void rx_hub_free(struct rx_hub *h);
/* A tracker whose file is created now; it records from rx_tracker_start.
 * NULL with a message. */
struct rx_tracker *rx_tracker_new(struct rx_hub *h, unsigned id, uint32_t opener,
				  const char *path, char *err, size_t errlen);
/* Records from seq from_seq on: the records so far that events need
 * (header, modules, stacks, frames, threads) are written first. */
void rx_tracker_start(struct rx_hub *h, struct rx_tracker *t, uint64_t from_seq);
/* A tracker that never started: its file goes, nothing is said. */
void rx_tracker_drop(struct rx_hub *h, struct rx_tracker *t);
struct rx_tracker *rx_tracker_find(struct rx_hub *h, unsigned id);
/* Ends its capture (symbols, trailer) and prints "final ID {totals}".
 * watermark nonzero: cut there (the agent goes on), else the stream ended
 * (complete when it ended with the agent's trailer). */
void rx_tracker_close(struct rx_hub *h, struct rx_tracker *t, uint64_t watermark, const char *note);
/* One record of the stream (framing stripped), unpacked into *out (free
 * it with ma_live_record_free, also on error).  0, or -1 with a message. */
int rx_hub_push(struct rx_hub *h, const uint8_t *rec, size_t len, Memattach__Record **out,
		char *err, size_t errlen);
/* The raw tracker's file gets the framed record as it came (its analysis
 * gets it from rx_hub_push); nothing when none is raw. */
void rx_hub_write_raw(struct rx_hub *h, const uint8_t *framed, size_t len);
/* The stream is over: every pending event delivered, every tracker closed. */
void rx_hub_end(struct rx_hub *h, const char *note);
/* The totals of `report stats --json` as one JSON line. */
void rx_print_totals(FILE *f, const ma_analysis *a);

#endif

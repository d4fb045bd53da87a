/* follow.h — following an agent's stream without writing every event:
 * the live analysis, the records that describe the process, RSS over
 * time, and a snapshot capture of the live set at any moment.  Shared by
 * --dump-on-threshold, --every and `memattach live`. */
#ifndef MEMATTACH_FOLLOW_H
#define MEMATTACH_FOLLOW_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/analysis/live_heap.h"

struct ma_follow {
	struct ma_live live;
	ma_analysis *a;           /* live.a */
	uint8_t *meta;            /* framed records describing the process */
	size_t meta_len, meta_cap;
	Memattach__Tick *ticks;   /* time series, for the snapshot's chart */
	size_t nticks, cap_ticks;
	uint64_t first_seq;
	uint64_t start_mono_ns;   /* Header.start_monotonic_ns: same clock as ours */
	/* The last two Ticks applied (CLOCK_MONOTONIC): the analysis holds the
	 * live set of the last one, and every event that ended before the one
	 * before it (the agent reads its watermark after that one's time). */
	uint64_t tick_mono_ns, prev_tick_mono_ns;
	uint64_t tick_time_ns, tick_rss;   /* the last Tick's time and RSS */
	uint64_t ticks_seen;
	/* --sample: each thread's last ThreadCounts (cumulative), for the
	 * snapshot's exact counts; one per thread seen. */
	Memattach__ThreadCounts *counts;
	size_t ncounts, cap_counts;
	int failed;
	/* Called with every record decoded, after the analysis took it. */
	void (*after)(void *ctx, const Memattach__Record *r);
	void *after_ctx;
};

/* 0, or -1 when out of memory. */
int ma_follow_init(struct ma_follow *f);
void ma_follow_free(struct ma_follow *f);
/* The session's on_record (ctx = the follow). */
int ma_follow_on_record(void *ctx, const uint8_t *rec, size_t len);
/* Has a Tick been applied whose agent cycle began at or after the
 * monotonic time t?  Then the analysis holds every event that ended
 * before t. */
int ma_follow_covers(const struct ma_follow *f, uint64_t t);

/* Writes a snapshot capture at path: the process's records, RSS over the
 * wait, one allocation event per block live now (moment time_ns, RSS
 * rss), symbols, and a trailer with note.  Nothing is left under path on
 * failure.  0, or -1 with a message. */
int ma_follow_write_snapshot(struct ma_follow *f, const char *path, pid_t pid, uint64_t time_ns,
			     uint64_t rss, const char *note, char *err, size_t errlen);

/* DIR/memattach-COMM-PID-YYYYmmddTHHMMSS-N.memcap (dir NULL: none). */
void ma_snapshot_name(char *buf, size_t len, const char *dir, const char *comm, pid_t pid, unsigned n);

#endif

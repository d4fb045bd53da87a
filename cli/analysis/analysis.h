/* analysis.h — one replay of a capture computes everything the reports
 * show: totals, peak, live set at the peak, leaks, per-stack, per-kind,
 * per-thread, size histogram and the memory time series.  Memory use grows
 * with live blocks and distinct stacks, never with the number of events.
 *
 * Counting rules (the public meaning of `report stats --json`):
 * - each allocation event counts once in total_allocations and its size in
 *   total_bytes_allocated (a realloc is a free of the old block and an
 *   allocation of the new; calloc bytes = nmemb*size);
 * - a free of a live block counts in total_frees; a free of an address that
 *   is not live (allocated before tracking) counts in untracked_frees;
 * - an allocation at an address that is still live means we missed its free
 *   (untracked path, signal handler...): the old block is freed there and
 *   counted in total_frees and in implicit_frees;
 * - MUNMAP / MREMAP_FREE free the overlapped part of tracked mmap blocks: a
 *   partial unmap shrinks or splits a block, removing a whole block counts
 *   as one free (when its last piece goes); unmapping untracked ranges is
 *   ignored (ignored_unmaps).  An MMAP over tracked mappings unmaps them
 *   first, the same way;
 * - peak_bytes is the maximum of tracked live bytes (heap + mmap); leaked_*
 *   is what is live at the end of the capture;
 * - a heap block freed by the thread that allocated it before that thread's
 *   next allocation is temporary (heaptrack's rule): temporary_allocations
 *   and temporary_bytes (a realloc's old block counts as freed). */
#ifndef MEMATTACH_ANALYSIS_H
#define MEMATTACH_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>
#include "cli/analysis/replay.h"
#include "cli/util/u64map.h"

#define MA_KINDS 64
#define MA_HIST_BUCKETS 65      /* [0], [1], [2,3], [4,7], ... [2^63, 2^64-1] */

typedef struct ma_count {
	uint64_t count, bytes;
} ma_count;

typedef struct ma_stack_stats {
	uint32_t id;                 /* Stack.id */
	uint32_t tid;                /* split by thread: the allocating thread (else 0) */
	uint32_t nframes;
	const uint64_t *frames;      /* innermost first; valid while the analysis lives */
	ma_count alloc;              /* allocated over the capture */
	ma_count freed;              /* of those, freed (bytes: overlapped part for munmap) */
	ma_count live;               /* live at the end: the leaks */
	ma_count at_peak;            /* live when the global peak was reached */
	ma_count temporary;          /* freed before the thread's next allocation */
	uint64_t max_live_bytes;     /* its own maximum */
	/* private: peak epoch of at_peak; snapshot generation of its last change */
	uint64_t epoch;
	uint64_t snap_gen;
} ma_stack_stats;

typedef struct ma_thread_stats {
	uint32_t tid;
	char *name;                  /* from ThreadInfo, or NULL */
	ma_count alloc;
	uint64_t frees;              /* free events issued by this thread */
	uint64_t last_alloc;         /* private: its last allocation's address, until its next */
	ma_count lost_alloc;         /* allocations it dropped (EventsLost) */
	uint64_t lost_frees;
	/* --sample: the agent's exact counts (ThreadCounts; its last record) */
	ma_count exact_alloc;
	uint64_t exact_frees, sample_count, samples_refused;
	int selected;                /* private: matches the filter's thread name */
} ma_thread_stats;

typedef struct ma_sample {
	uint64_t time_ns;
	uint64_t rss_bytes;
	uint64_t heap_bytes;         /* tracked live bytes at the watermark */
	uint64_t heap_blocks;
} ma_sample;

typedef struct ma_inlined {
	char *function, *file;
	uint32_t line;
} ma_inlined;

typedef struct ma_symbol {
	uint64_t address;
	char *function, *file, *module;
	uint64_t module_offset;
	uint32_t line;
	/* functions inlined at this address, innermost first, each with its
	 * own file:line; function/file/line above are the real function's,
	 * at the call site of the outermost inlined one */
	ma_inlined *inlined;
	uint32_t ninlined;
} ma_symbol;

typedef struct ma_pyframe {
	uint32_t id;
	char *function, *file;
	uint32_t line;
} ma_pyframe;

/* A loaded object (Module record): for pprof mappings. */
typedef struct ma_module {
	char *path;
	char *build_id;              /* hex, or NULL */
	uint64_t load_address;
	uint64_t start, end;         /* lowest / highest address of its segments */
	uint64_t file_offset;        /* of the segment at start */
} ma_module;

/* Filters: which allocations an analysis counts.  Set before the run
 * (ma_analysis_set_filter).  A filter selects allocations; the free of a
 * selected block is applied whichever thread frees it, and frees of blocks
 * that were not selected are ignored (neither frees nor untracked).  So
 * totals, peak, leaks, per-kind, per-stack values and snapshots all
 * describe the selected allocations only, and every report agrees. */
typedef struct ma_filter {
	uint32_t tid;                /* nonzero: only allocations by this thread */
	const char *thread_name;     /* non-NULL: only threads whose last ThreadInfo name is this */
	uint64_t min_size;           /* allocations smaller than this are ignored */
	uint64_t from_ns, to_ns;     /* only allocations made in [from, to] (to 0: no end) */
} ma_filter;

/* "Live set at moment T" (ma_analysis_want_snapshots): each snapshot lists
 * the stacks whose live value changed since the previous snapshot, with
 * their value at this moment, sorted by stack index.  Values at snapshot j
 * = apply snapshots 0..j in order to an all-zero array (ma_snapshot_apply),
 * so walking all snapshots costs the sum of their changes, not the events. */
typedef struct ma_snap_entry {
	uint32_t stack;              /* index in stacks[] */
	ma_count live;
} ma_snap_entry;

typedef struct ma_snapshot {
	uint64_t time_ns, seq;       /* the Tick's time; last event seq applied */
	uint64_t live_bytes, live_blocks;  /* totals at this moment */
	ma_snap_entry *changed;
	size_t nchanged;
} ma_snapshot;

/* The time range of the flame graph (ma_analysis_want_range; Memray's
 * --temporal): what was allocated between two moments and is live at the
 * second.  Entries are (thread entry, allocation bucket); bucket b holds
 * what was allocated after moment b-1 and up to moment b (b = 0: up to
 * moment 0).  Per moment, the live value of every entry that changed since
 * the previous one, entries ascending. */
typedef struct ma_range {
	size_t nentries;
	uint32_t *leaf, *bucket;     /* per entry: its index in stacks[], its bucket */
	size_t nmoments;             /* = nsnapshots */
	size_t *off;                 /* nmoments + 1: changes of moment j are [off[j], off[j+1]) */
	uint32_t *entry;             /* per change */
	ma_count *live;
} ma_range;

void ma_range_free(ma_range *r);

struct ma_analysis_priv;
struct ma_analysis;
/* A thread id of the capture (the agent's) as memattach saw it (TargetIds),
 * 0 when the capture has none for it. */
uint32_t ma_analysis_host_tid(const struct ma_analysis *a, uint32_t tid);

typedef struct ma_analysis {
	/* The capture. */
	int has_header;
	uint32_t pid, native_depth, format_major, format_minor;
	/* A target in another pid namespace (TargetIds): pid is then
	 * memattach's number and this the agent's own; 0 when the same. */
	uint32_t pid_in_namespace;
	ma_u64map host_tids;   /* the agent's thread ids → memattach's */
	char *command_line, *comm, *executable, *hostname, *agent_version;
	uint64_t start_realtime_ns, first_seq, rss_at_start;
	uint64_t start_call_ns, start_call_cpu_ns;   /* the agent's start call */
	int attached;
	int has_agent_trailer, has_capture_trailer, complete;
	uint32_t stop_reason;
	uint64_t dropped_events;
	/* Events the agent dropped instead of making the target wait for the
	 * CLI (EventsLost; threads a thread filter leaves out are not
	 * counted).  When any: totals and per-kind counts are low by exactly
	 * these; frees of lost allocations count as untracked_frees; blocks
	 * whose free was lost stay live (leaks, live and peak after
	 * lost_first_ns may be high) until their address is allocated again
	 * (an implicit free); lost allocations are in no stack. */
	ma_count lost_alloc, lost_free;   /* free bytes: munmap/mremap only */
	uint64_t lost_first_ns, lost_last_ns;
	uint32_t lost_windows;            /* EventsLost records */
	/* --sample (Header.sample_interval nonzero): heap allocations were
	 * sampled, and every figure made of allocations below (totals, peak,
	 * leaks, per stack, per kind, histogram) is an estimate: each recorded
	 * allocation weighed by what it stands for (sample_weight.h).  The
	 * agent's exact counts, summed over threads, are exact_*. */
	uint64_t sample_interval, sample_seed;
	ma_count exact_alloc;
	uint64_t exact_frees, sample_count, samples_refused;
	char *note;                  /* CaptureTrailer.note */
	char **warnings;             /* the agent's Warning texts, each once */
	size_t nwarnings;
	uint64_t duration_ns;        /* latest time seen */
	ma_replay_result replay;     /* records, events, truncated... */

	/* Totals (see the counting rules above). */
	uint64_t total_allocations, total_bytes_allocated;
	uint64_t total_frees, total_bytes_freed;
	uint64_t untracked_frees, implicit_frees, ignored_unmaps, null_allocations;
	uint64_t live_bytes, live_blocks;          /* at the end = leaked */
	uint64_t temporary_allocations, temporary_bytes;
	uint64_t peak_bytes, peak_blocks, peak_seq, peak_time_ns;
	uint64_t last_seq, last_time_ns;           /* of the last event applied */
	int frozen;       /* ma_analysis_freeze_at reached: no event applied since */

	ma_count kinds[MA_KINDS];     /* per EventKind: events and bytes */
	ma_count hist[MA_HIST_BUCKETS]; /* allocations by power-of-two size */

	ma_stack_stats *stacks;
	size_t nstacks;
	ma_thread_stats *threads;
	size_t nthreads;
	ma_sample *samples;
	size_t nsamples;
	ma_symbol *symbols;
	size_t nsymbols;
	ma_pyframe *pyframes;
	size_t npyframes;
	ma_module *modules;
	size_t nmodules;
	/* Snapshots, in time order (see ma_analysis_want_snapshots). */
	ma_snapshot *snapshots;
	size_t nsnapshots;
	int filtered;                 /* a filter was set */

	struct ma_analysis_priv *priv;
} ma_analysis;

ma_analysis *ma_analysis_new(void);
void ma_analysis_free(ma_analysis *a);

/* Before the run: only count allocations the filter selects (copied;
 * thread_name must outlive the run). */
void ma_analysis_set_filter(ma_analysis *a, const ma_filter *f);

/* Before a replay of path that does not go through ma_analysis_run: what
 * the filter needs to know ahead of the events (a thread name filter reads
 * every thread's last name in a first, cheap pass). */
void ma_analysis_prepare(ma_analysis *a, const char *path);

/* Before the run: take up to max (>= 2) snapshots of the per-stack live
 * set at Tick records, evenly spaced over the capture (when there are more
 * ticks than max, every other snapshot is merged away and the spacing
 * doubles), the last one at the end of the capture.  -1 on OOM. */
int ma_analysis_want_snapshots(ma_analysis *a, unsigned max);

/* Before the run: each stack's values are kept per allocating thread, in
 * entries of their own (stacks[i].tid; several entries share a Stack.id
 * and its frames); the stack's first entry (tid 0) then counts nothing.
 * Frees go to the entry of the block's allocation, whoever frees it. */
void ma_analysis_split_by_thread(ma_analysis *a);

/* Before the run, after the two above: keep the time range as the events
 * are applied (range_cells.h), so one replay makes it. */
void ma_analysis_want_range(ma_analysis *a);

/* After ma_analysis_finish: the time range.  0; 1 when there is none (not
 * asked for, no snapshot, or given up: past its limits or out of memory
 * during the run); -1 when out of memory now. */
int ma_analysis_range(const ma_analysis *a, ma_range *out);

/* live[] (nstacks entries) holds the values at snapshot j-1 (all zero
 * before snapshot 0); updates it to snapshot j. */
void ma_snapshot_apply(const ma_snapshot *s, ma_count *live);

/* Before the run: called now and then during ma_analysis_run with the
 * compressed bytes read so far and the file size (progress bars). */
void ma_analysis_set_progress(ma_analysis *a, void (*cb)(void *ctx, uint64_t done, uint64_t total),
			      void *ctx);

/* The module containing address, or NULL. */
const ma_module *ma_analysis_module(const ma_analysis *a, uint64_t address);

/* The replay callbacks that feed an analysis (ctx = the analysis), for
 * callers that replay themselves. */
extern const ma_replay_ops ma_analysis_ops;
/* Resolves lazy per-stack values; call once after the replay. */
void ma_analysis_finish(ma_analysis *a);

/* Opens, replays and finishes.  0 on success, -1 with a message in err
 * (the analysis then holds what was read before the error). */
int ma_analysis_run(ma_analysis *a, const char *path, char *err, size_t errlen);
/* A stream past a cross-record limit (record_limits.h: distinct stacks,
 * frames, threads, modules): the message in err, else NULL. */
const char *ma_analysis_limit_error(const ma_analysis *a, char *err, size_t errlen);

/* Following a stream (--dump-on-threshold on the heap): once an event
 * brings the live bytes to live_bytes or more, a->frozen is set and the
 * events after it are ignored, so the live set stays the one of that
 * moment however late the caller looks. */
void ma_analysis_freeze_at(ma_analysis *a, uint64_t live_bytes);

/* Applies one event (exposed for tests and for other replay drivers). */
void ma_analysis_event(ma_analysis *a, const ma_event *e);

/* Lookups: NULL when unknown. */
const ma_symbol *ma_analysis_symbol(const ma_analysis *a, uint64_t address);
const ma_pyframe *ma_analysis_pyframe(const ma_analysis *a, uint32_t id);
const ma_stack_stats *ma_analysis_stack(const ma_analysis *a, uint32_t id);

/* Bucket of a size in hist[] and its bounds. */
unsigned ma_hist_bucket(uint64_t size);
uint64_t ma_hist_min(unsigned bucket);
uint64_t ma_hist_max(unsigned bucket);

/* Events lost in all (allocations + frees). */
static inline uint64_t ma_analysis_lost(const ma_analysis *a)
{
	return a->lost_alloc.count + a->lost_free.count;
}

/* Following a live stream (memattach live): from now on, remember which
 * stacks' live values change (not with ma_analysis_want_snapshots). */
void ma_analysis_track_changes(ma_analysis *a);
/* The indexes in stacks[] of the entries whose live value changed since
 * the previous call, each once; valid until the next event is applied.
 * The cost is that of the changes, never of the live blocks. */
size_t ma_analysis_take_changes(ma_analysis *a, const uint32_t **idx);
/* Before ma_analysis_finish: points stacks[i].frames at its frames (valid
 * until the next Stack record). */
void ma_analysis_stack_frames_now(ma_analysis *a, size_t i);

/* Calls fn for every block live now (heap blocks, then mapped pieces),
 * with its Stack.id.  For snapshots of the live set. */
void ma_analysis_foreach_live(const ma_analysis *a,
			      void (*fn)(void *ctx, uint64_t addr, uint64_t size,
					 uint32_t stack_id, uint32_t kind),
			      void *ctx);

/* Writes a readable name for a stack frame: symbol, Python frame or
 * 0xADDR.  Inlined functions come first, innermost first:
 * "helper (f.c:12) [inlined into] caller (f.c:30)".  Returns buf. */
const char *ma_analysis_frame_name(const ma_analysis *a, uint64_t frame, char *buf, size_t len);

/* One function of a frame, for reports that show inlined frames apart. */
typedef struct ma_frame_part {
	const char *function;        /* NULL: unknown (module/address only) */
	const char *file;            /* NULL: unknown */
	uint32_t line;
	int inlined;                 /* inlined into the next part */
	const char *module;          /* NULL: unknown */
	uint64_t module_offset;
} ma_frame_part;

/* Calls cb for each function of a frame: the inlined chain innermost
 * first, then the real function (or one part with function NULL when the
 * frame has no symbol).  Returns the number of parts. */
size_t ma_analysis_frame_names(const ma_analysis *a, uint64_t frame,
			       void (*cb)(void *ctx, const ma_frame_part *p), void *ctx);

#endif

/* flame_range.c — the data of the flame graph's time-range selection
 * (Memray's --temporal): for a range of the memory chart, what was
 * allocated in it and is still live at its end.
 *
 * A second replay of the capture through the analysis, with every event's
 * thread id tagged with its allocation bucket (the first moment, i.e.
 * snapshot of the main analysis, whose seq covers it) and split by thread:
 * so each entry of that analysis is one (stack, thread, bucket), frees go
 * to the entry of their block's allocation, and its own snapshots, taken
 * at the same ticks, give each entry's live value at every moment.  The
 * counting rules stay the analysis' own. */
#include <stdlib.h>
#include <string.h>

#include "cli/report/formats/flame.h"
#include "cli/util/u64map.h"
#include "record_io.h"

#define TID_BITS 22             /* pid_max is at most 2^22 */
#define TID_MASK ((1u << TID_BITS) - 1)

/* The replay's state: the analysis' callbacks take the analysis as their
 * context, so the tagging wrapper finds its own here (one replay at a
 * time: the report command runs one). */
static struct tagger {
	const ma_analysis *main;
	ma_u64map selected;          /* tids whose allocations count (thread filter) */
	int by_thread;               /* a thread filter is set */
	ma_event *buf;
	size_t cap;
	int bad_tid;
} T;

static uint32_t bucket_of(uint64_t seq)
{
	size_t lo = 0, hi = T.main->nsnapshots;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (T.main->snapshots[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* Tags e in place; 0 when it is to be dropped (an allocation of a thread
 * the filter leaves out: its free is then an untracked one, ignored). */
static int tag(ma_event *e)
{
	if (e->tid > TID_MASK) {
		T.bad_tid = 1;
		return 1;
	}
	if (T.by_thread && ma_kind_is_alloc(e->kind) && ma_u64map_get(&T.selected, e->tid) == UINT32_MAX)
		return 0;
	e->tid |= (bucket_of(e->seq) + 1) << TID_BITS;
	return 1;
}

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	if (n > T.cap) {
		ma_event *b = realloc(T.buf, n * sizeof *b);
		if (!b) {
			T.bad_tid = 1;   /* give the range up */
			return;
		}
		T.buf = b, T.cap = n;
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		T.buf[k] = e[i];
		k += (size_t)tag(&T.buf[k]);
	}
	if (ma_analysis_ops.events)
		ma_analysis_ops.events(ctx, T.buf, k);
	else
		for (size_t i = 0; i < k; i++)
			ma_analysis_ops.event(ctx, &T.buf[i]);
}

static void on_event(void *ctx, const ma_event *e)
{
	on_events(ctx, e, 1);
}

/* The main analysis' threads with selected allocations, when a thread
 * filter is set.  -1 on OOM. */
static int select_threads(const ma_report_args *args, const ma_analysis *a)
{
	T.by_thread = args->opts.filter.tid || args->opts.filter.thread_name;
	for (size_t i = 0; T.by_thread && i < a->nthreads; i++)
		if (a->threads[i].alloc.count && ma_u64map_put(&T.selected, a->threads[i].tid, 1) < 0)
			return -1;
	return 0;
}

/* The replay itself: an analysis of tagged events with the main one's
 * filters (the thread part done by tag()).  NULL on error (printed). */
static ma_analysis *replay_tagged(const ma_report_args *args, const ma_analysis *a)
{
	ma_analysis *t = ma_analysis_new();
	if (!t)
		return NULL;
	ma_filter f = args->opts.filter;
	f.tid = 0, f.thread_name = NULL;
	ma_analysis_set_filter(t, &f);
	ma_analysis_want_snapshots(t, FLAME_MOMENTS);
	ma_analysis_split_by_thread(t);
	char err[600];
	ma_capture_reader *r = ma_capture_reader_open(args->capture, err, sizeof err);
	if (!r) {
		fprintf(stderr, "memattach report: %s\n", err);
		ma_analysis_free(t);
		return NULL;
	}
	ma_replay_ops ops = ma_analysis_ops;
	ops.events = on_events;
	ops.event = on_event;
	ma_replay_reader(r, &ops, t, &t->replay, err, sizeof err);
	ma_capture_reader_close(r);
	ma_analysis_finish(t);
	return t;
}

/* Same moments in both analyses (the same ticks): else no range. */
static int same_moments(const ma_analysis *a, const ma_analysis *t)
{
	if (a->nsnapshots != t->nsnapshots || !a->nsnapshots)
		return 0;
	for (size_t j = 0; j < a->nsnapshots; j++)
		if (a->snapshots[j].time_ns != t->snapshots[j].time_ns || a->snapshots[j].seq != t->snapshots[j].seq)
			return 0;
	return 1;
}

/* The tagged analysis' entries as (main leaf, bucket) entries of r, and
 * its snapshots as r's changes.  -1 on OOM. */
static int collect(flame_range *r, const ma_analysis *a, const ma_analysis *t)
{
	ma_u64map leaf = { 0 };
	uint32_t *eidx = malloc((t->nstacks + 1) * sizeof *eidx);
	size_t nch = 0;
	for (size_t j = 0; j < t->nsnapshots; j++)
		nch += t->snapshots[j].nchanged;
	r->leaf = malloc((t->nstacks + 1) * sizeof *r->leaf);
	r->bucket = malloc((t->nstacks + 1) * sizeof *r->bucket);
	r->off = malloc((t->nsnapshots + 1) * sizeof *r->off);
	r->entry = malloc((nch + 1) * sizeof *r->entry);
	r->live = malloc((nch + 1) * sizeof *r->live);
	int rc = -1;
	if (!eidx || !r->leaf || !r->bucket || !r->off || !r->entry || !r->live)
		goto out;
	for (size_t i = 0; i < a->nstacks; i++)
		if (a->stacks[i].tid && ma_u64map_put(&leaf, (uint64_t)a->stacks[i].id << 32 | a->stacks[i].tid,
						      (uint32_t)i) < 0)
			goto out;
	for (size_t i = 0; i < t->nstacks; i++) {
		const ma_stack_stats *s = &t->stacks[i];
		uint32_t l = s->tid ? ma_u64map_get(&leaf, (uint64_t)s->id << 32 | (s->tid & TID_MASK)) : UINT32_MAX;
		eidx[i] = UINT32_MAX;
		if (l == UINT32_MAX)
			continue;
		eidx[i] = (uint32_t)r->nentries;
		r->leaf[r->nentries] = l;
		r->bucket[r->nentries++] = (s->tid >> TID_BITS) - 1;
	}
	r->nmoments = t->nsnapshots;
	r->off[0] = 0;
	size_t k = 0;
	for (size_t j = 0; j < t->nsnapshots; j++) {
		const ma_snapshot *sn = &t->snapshots[j];
		for (size_t c = 0; c < sn->nchanged; c++) {
			uint32_t e = eidx[sn->changed[c].stack];
			if (e == UINT32_MAX)
				continue;
			r->entry[k] = e;
			r->live[k++] = sn->changed[c].live;
		}
		r->off[j + 1] = k;
	}
	rc = 0;
out:
	ma_u64map_free(&leaf);
	free(eidx);
	return rc;
}

int flame_range_build(const ma_report_args *args, const ma_analysis *a, flame_range *r)
{
	memset(r, 0, sizeof *r);
	memset(&T, 0, sizeof T);
	T.main = a;
	if (!a->nsnapshots)
		return 1;
	if (select_threads(args, a) < 0) {
		ma_u64map_free(&T.selected);
		return -1;
	}
	ma_analysis *t = replay_tagged(args, a);
	int rc = !t ? -1 : T.bad_tid || !same_moments(a, t) ? 1 : collect(r, a, t);
	free(T.buf);
	ma_u64map_free(&T.selected);
	memset(&T, 0, sizeof T);
	ma_analysis_free(t);
	if (rc)
		flame_range_free(r);
	return rc;
}

void flame_range_free(flame_range *r)
{
	free(r->leaf), free(r->bucket), free(r->off), free(r->entry), free(r->live);
	memset(r, 0, sizeof *r);
}

static void put_u32s(FILE *f, const char *key, const uint32_t *v, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%u" : "%u", v[i]);
	putc(']', f);
}

void flame_range_put(FILE *f, const flame_range *r)
{
	fprintf(f, "{\"len\":%zu", r->nentries);
	put_u32s(f, "leaf", r->leaf, r->nentries);
	put_u32s(f, "bucket", r->bucket, r->nentries);
	fputs(",\"off\":[", f);
	for (size_t j = 0; j <= r->nmoments; j++)
		fprintf(f, j ? ",%zu" : "%zu", r->off[j]);
	putc(']', f);
	size_t n = r->off[r->nmoments];
	put_u32s(f, "entry", r->entry, n);
	fputs(",\"b\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)r->live[i].bytes);
	fputs("],\"n\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)r->live[i].count);
	fputs("]}", f);
}

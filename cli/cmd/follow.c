/* follow.c — see follow.h.  The live table and per-stack totals grow with
 * live blocks, never with events, and nothing goes to disk until a
 * snapshot.  A snapshot is an ordinary capture: the records that describe
 * the process (header, modules, stacks, threads) followed by one
 * allocation event per block live at that moment, so every report reads
 * it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/analysis/analysis.h"
#include "cli/capture/capture_file.h"
#include "cli/capture/session.h"
#include "cli/cmd/follow.h"
#include "cli/symbols/symbolize.h"
#include "procfs/procfs.h"
#include "record_io.h"

#define SNAP_BATCH 4096

int ma_follow_init(struct ma_follow *f)
{
	memset(f, 0, sizeof(*f));
	if (ma_live_init(&f->live) < 0)
		return -1;
	f->a = f->live.a;
	return 0;
}

void ma_follow_free(struct ma_follow *f)
{
	ma_live_free(&f->live);
	free(f->meta);
	free(f->ticks);
	free(f->counts);
	f->meta = NULL;
	f->ticks = NULL;
	f->counts = NULL;
}

static int append_meta(struct ma_follow *f, const uint8_t *rec, size_t len)
{
	uint8_t pre[10];
	size_t k = ma_varint_put(pre, len);
	if (f->meta_len + k + len > f->meta_cap) {
		size_t cap = f->meta_cap ? f->meta_cap * 2 : (1u << 20);
		while (cap < f->meta_len + k + len)
			cap *= 2;
		uint8_t *m = realloc(f->meta, cap);
		if (!m)
			return -1;
		f->meta = m;
		f->meta_cap = cap;
	}
	memcpy(f->meta + f->meta_len, pre, k);
	memcpy(f->meta + f->meta_len + k, rec, len);
	f->meta_len += k + len;
	return 0;
}

/* Keeps at most ~4096 samples: when full, every other one goes. */
static void keep_tick(struct ma_follow *f, const Memattach__Tick *t)
{
	if (f->nticks == f->cap_ticks) {
		if (f->cap_ticks >= 4096) {
			for (size_t i = 0; i < f->nticks / 2; i++)
				f->ticks[i] = f->ticks[2 * i + 1];
			f->nticks /= 2;
		} else {
			size_t cap = f->cap_ticks ? f->cap_ticks * 2 : 256;
			Memattach__Tick *n = realloc(f->ticks, cap * sizeof(*n));
			if (!n)
				return;
			f->ticks = n;
			f->cap_ticks = cap;
		}
	}
	Memattach__Tick *k = &f->ticks[f->nticks++];
	memattach__tick__init(k);
	k->time_ns = t->time_ns;
	k->rss_bytes = t->rss_bytes;
}

/* A thread's counts replace its earlier ones (they are cumulative). */
static int keep_counts(struct ma_follow *f, const Memattach__ThreadCounts *c)
{
	size_t i = 0;
	while (i < f->ncounts && f->counts[i].tid != c->tid)
		i++;
	if (i == f->ncounts) {
		if (f->ncounts == f->cap_counts) {
			size_t cap = f->cap_counts ? f->cap_counts * 2 : 16;
			Memattach__ThreadCounts *n = realloc(f->counts, cap * sizeof(*n));
			if (!n)
				return -1;
			f->counts = n;
			f->cap_counts = cap;
		}
		f->ncounts++;
	}
	Memattach__ThreadCounts *k = &f->counts[i];
	memattach__thread_counts__init(k);
	k->tid = c->tid;
	k->allocations = c->allocations;
	k->allocation_bytes = c->allocation_bytes;
	k->frees = c->frees;
	k->samples = c->samples;
	k->samples_refused = c->samples_refused;
	return 0;
}

static void on_tick(struct ma_follow *f, const Memattach__Tick *t)
{
	keep_tick(f, t);
	/* The analysis would keep every 10 ms sample (11 MB an hour); the
	 * snapshot's chart uses the thinned copy in f->ticks. */
	f->a->nsamples = 0;
	f->prev_tick_mono_ns = f->tick_mono_ns;
	f->tick_mono_ns = f->start_mono_ns + t->time_ns;
	f->tick_time_ns = t->time_ns;
	f->tick_rss = t->rss_bytes;
	f->ticks_seen++;
}

int ma_follow_on_record(void *ctx, const uint8_t *p, size_t len)
{
	struct ma_follow *f = ctx;
	Memattach__Record *r = ma_live_push(&f->live, p, len);
	if (!r)
		return 0;          /* unknown to us: skip, as a reader would */
	switch (r->r_case) {
	case MEMATTACH__RECORD__R_HEADER:
		f->first_seq = r->header->first_seq;
		f->start_mono_ns = r->header->start_monotonic_ns;
		/* fall through */
	case MEMATTACH__RECORD__R_MODULE:
	case MEMATTACH__RECORD__R_MODULE_UNLOAD:
	case MEMATTACH__RECORD__R_STACK:
	case MEMATTACH__RECORD__R_PYTHON_FRAME:
	case MEMATTACH__RECORD__R_THREAD:
	case MEMATTACH__RECORD__R_EVENTS_LOST:   /* the snapshot misses them too */
	case MEMATTACH__RECORD__R_WARNING:
	case MEMATTACH__RECORD__R_TARGET_IDS:   /* a container's pids (the CLI's record) */
		if (append_meta(f, p, len) < 0)
			f->failed = 1;
		break;
	case MEMATTACH__RECORD__R_THREAD_COUNTS:
		if (keep_counts(f, r->thread_counts) < 0)
			f->failed = 1;
		break;
	case MEMATTACH__RECORD__R_TICK:
		/* The replayer has applied every event below the watermark:
		 * the analysis holds the live heap at this tick. */
		on_tick(f, r->tick);
		break;
	default:
		break;
	}
	if (f->live.failed)
		f->failed = 1;
	if (f->after)
		f->after(f->after_ctx, r);
	ma_live_record_free(r);
	return f->failed;
}

int ma_follow_covers(const struct ma_follow *f, uint64_t t)
{
	/* The agent reads the watermark after the previous Tick's time:
	 * the last Tick's watermark covers everything done before it. */
	return f->ticks_seen >= 2 && f->prev_tick_mono_ns >= t;
}

struct snap {
	ma_capture_writer *w;
	Memattach__EventBatch b;
	uint64_t seq[SNAP_BATCH], tdelta[SNAP_BATCH], size[SNAP_BATCH];
	int64_t addr[SNAP_BATCH];
	uint32_t kind[SNAP_BATCH], stack[SNAP_BATCH];
	size_t n;
	uint64_t next_seq, time_ns, prev_addr;
	int err;
};

static void snap_flush(struct snap *s)
{
	if (!s->n || s->err)
		return;
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	memattach__event_batch__init(&s->b);
	s->b.n_seq_delta = s->b.n_time_delta = s->b.n_addr_delta = s->n;
	s->b.n_size = s->b.n_kind = s->b.n_stack = s->n;
	s->b.seq_delta = s->seq;
	s->b.time_delta = s->tdelta;
	s->b.addr_delta = s->addr;
	s->b.size = s->size;
	s->b.kind = s->kind;
	s->b.stack = s->stack;
	rec.r_case = MEMATTACH__RECORD__R_EVENTS;
	rec.events = &s->b;
	if (ma_capture_writer_write_record(s->w, &rec) < 0)
		s->err = 1;
	s->n = 0;
}

static void snap_block(void *ctx, uint64_t addr, uint64_t size, uint32_t stack, uint32_t kind)
{
	struct snap *s = ctx;
	size_t i = s->n;
	s->seq[i] = i == 0 ? s->next_seq : 1;
	s->tdelta[i] = i == 0 ? s->time_ns : 0;
	s->addr[i] = i == 0 ? (int64_t)addr : (int64_t)(addr - s->prev_addr);
	s->prev_addr = addr;
	s->size[i] = size;
	s->kind[i] = kind;
	s->stack[i] = stack;
	s->next_seq++;
	if (++s->n == SNAP_BATCH)
		snap_flush(s);
}

static int write_record(ma_capture_writer *w, Memattach__Record *rec)
{
	return ma_capture_writer_write_record(w, rec);
}

/* RSS over the wait; the heap is known at the moment only. */
static int write_ticks(struct ma_follow *f, ma_capture_writer *w, uint64_t until_ns)
{
	for (size_t i = 0; i < f->nticks && f->ticks[i].time_ns <= until_ns; i++) {
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		f->ticks[i].watermark = f->first_seq;
		rec.r_case = MEMATTACH__RECORD__R_TICK;
		rec.tick = &f->ticks[i];
		if (write_record(w, &rec) < 0)
			return -1;
	}
	return 0;
}

/* --sample: the exact counts as the last Tick left them. */
static int write_counts(struct ma_follow *f, ma_capture_writer *w)
{
	for (size_t i = 0; i < f->ncounts; i++) {
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		rec.r_case = MEMATTACH__RECORD__R_THREAD_COUNTS;
		rec.thread_counts = &f->counts[i];
		if (write_record(w, &rec) < 0)
			return -1;
	}
	return 0;
}

/* The moment's Tick and the trailers, the symbols between them. */
static int write_end(ma_capture_writer *w, pid_t pid, uint64_t seq, uint64_t time_ns, uint64_t rss,
		     const char *note)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Tick t = MEMATTACH__TICK__INIT;
	t.watermark = seq;
	t.time_ns = time_ns;
	t.rss_bytes = rss;
	rec.r_case = MEMATTACH__RECORD__R_TICK;
	rec.tick = &t;
	int bad = write_record(w, &rec) < 0;
	Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
	at.reason = MEMATTACH__STOP_REASON__STOP_REQUESTED;
	at.watermark = seq;
	at.time_ns = time_ns;
	rec.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
	rec.agent_trailer = &at;
	bad = bad || write_record(w, &rec) < 0;
	/* Symbols while the process and its files are still there. */
	char root[64], serr[512], data[64];
	ma_proc_root(pid, "", root, sizeof(root));
	ma_capture_writer_data_path(w, data, sizeof(data));
	if (!bad && (ma_capture_writer_flush(w) < 0 ||
		     ma_symbolize_capture(data, w, root, serr, sizeof(serr)) < 0))
		fprintf(stderr, "memattach: warning: the snapshot has no symbols: %s\n", serr);
	Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
	ct.complete = 1;
	ct.note = (char *)note;
	rec.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
	rec.capture_trailer = &ct;
	return bad || write_record(w, &rec) < 0 ? -1 : 0;
}

int ma_follow_write_snapshot(struct ma_follow *f, const char *path, pid_t pid, uint64_t time_ns,
			     uint64_t rss, const char *note, char *err, size_t errlen)
{
	ma_capture_writer *w = ma_capture_writer_open(path, err, errlen);
	if (!w)
		return -1;
	struct snap *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		ma_capture_writer_close(w);
		return -1;
	}
	s->w = w;
	s->next_seq = f->first_seq;
	s->time_ns = time_ns;
	int bad = ma_capture_writer_write(w, f->meta, f->meta_len) < 0 || write_ticks(f, w, time_ns) < 0 ||
		  write_counts(f, w) < 0;
	if (!bad) {
		ma_analysis_foreach_live(f->a, snap_block, s);
		snap_flush(s);
		bad = s->err;
	}
	bad = bad || write_end(w, pid, s->next_seq, time_ns, rss, note) < 0;
	free(s);
	if (bad) {
		/* no half snapshot: what had the name stays */
		snprintf(err, errlen, "%s", ma_capture_writer_error(w));
		ma_capture_writer_abandon(w);
	} else if (ma_capture_writer_close(w) < 0) {
		snprintf(err, errlen, "%s", ma_capture_writer_error(NULL));
		bad = 1;
	}
	return bad ? -1 : 0;
}

void ma_snapshot_name(char *buf, size_t len, const char *dir, const char *comm, pid_t pid, unsigned n)
{
	char base[256];
	ma_default_output(base, sizeof base, comm, pid);
	size_t bl = strlen(base);
	if (bl > 7)
		base[bl - 7] = 0;   /* without .memcap */
	snprintf(buf, len, "%s%s%s-%u.memcap", dir ? dir : "", dir ? "/" : "", base, n);
}

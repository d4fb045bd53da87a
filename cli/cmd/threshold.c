/* threshold.c — live analysis of the agent's stream: the live table and
 * per-stack totals grow with live blocks, never with events, and nothing
 * goes to disk until the crossing.  The snapshot is an ordinary capture:
 * the records that describe the process (header, modules, stacks, threads)
 * followed by one allocation event per block live at the crossing, so
 * every report reads it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/analysis/analysis.h"
#include "cli/capture/capture_file.h"
#include "cli/util/exit_codes.h"
#include "record_io.h"
#include "cli/analysis/replay.h"
#include "cli/report/report.h"
#include "cli/cmd/threshold.h"
#include "cli/analysis/live_heap.h"
#include "cli/symbols/symbolize.h"
#include "procfs/procfs.h"

#define SNAP_BATCH 4096

struct follow {
	struct ma_live live;
	ma_analysis *a;           /* live.a */
	uint8_t *meta;            /* framed records describing the process */
	size_t meta_len, meta_cap;
	Memattach__Tick *ticks;   /* time series, for the snapshot's chart */
	size_t nticks, cap_ticks;
	uint64_t first_seq;
	uint64_t start_mono_ns;   /* Header.start_monotonic_ns: same clock as ours */
	const struct ma_threshold_opts *o;
	uint64_t max_seen;
	int crossed;
	uint64_t cross_value, cross_time_ns, cross_rss;
	uint64_t cross_mono_ns;   /* when the CLI saw it */
	int failed;
};

static int append_meta(struct follow *f, const uint8_t *rec, size_t len)
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
static void keep_tick(struct follow *f, const Memattach__Tick *t)
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

static int on_record(void *ctx, const uint8_t *p, size_t len)
{
	struct follow *f = ctx;
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
	default:
		break;
	}
	if (f->live.failed)
		f->failed = 1;
	if (r->r_case == MEMATTACH__RECORD__R_TICK && !f->crossed) {
		/* The replayer has applied every event below the watermark:
		 * the analysis holds the live heap at this tick. */
		uint64_t v = f->o->on_heap ? f->a->live_bytes : r->tick->rss_bytes;
		keep_tick(f, r->tick);
		/* The analysis would keep every 10 ms sample (11 MB an hour);
		 * the snapshot's chart uses the thinned copy in f->ticks. */
		f->a->nsamples = 0;
		if (v > f->max_seen)
			f->max_seen = v;
		if (v >= f->o->bytes) {
			f->crossed = 1;
			f->cross_value = v;
			/* Heap: the allocation that crossed is the last event
			 * applied; RSS is only known at the tick. */
			f->cross_time_ns = f->o->on_heap && f->a->last_time_ns ? f->a->last_time_ns
									       : r->tick->time_ns;
			f->cross_rss = r->tick->rss_bytes;
			f->cross_mono_ns = ma_monotonic_ns();
		}
	}
	ma_live_record_free(r);
	return f->failed;
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

/* The snapshot's end: the Tick at the crossing, the agent's and the
 * capture's trailers, the symbols between them.  Nonzero on a write error. */
static int write_snapshot_end(struct follow *f, ma_capture_writer *w, uint64_t next_seq)
{
	int bad;
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Tick t = MEMATTACH__TICK__INIT;
	t.watermark = next_seq;
	t.time_ns = f->cross_time_ns;
	t.rss_bytes = f->cross_rss;
	rec.r_case = MEMATTACH__RECORD__R_TICK;
	rec.tick = &t;
	bad = write_record(w, &rec) < 0;
	Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
	at.reason = MEMATTACH__STOP_REASON__STOP_REQUESTED;
	at.watermark = next_seq;
	at.time_ns = f->cross_time_ns;
	rec.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
	rec.agent_trailer = &at;
	bad = bad || write_record(w, &rec) < 0;
	/* Symbols while the process and its files are still there. */
	char root[64], serr[512], data[64];
	ma_proc_root(f->o->pid, "", root, sizeof(root));
	ma_capture_writer_data_path(w, data, sizeof(data));
	if (!bad && (ma_capture_writer_flush(w) < 0 ||
		     ma_symbolize_capture(data, w, root, serr, sizeof(serr)) < 0))
		fprintf(stderr, "memattach: warning: the snapshot has no symbols: %s\n", serr);
	char note[256];
	snprintf(note, sizeof(note),
		 "snapshot of the live set when %s reached %llu bytes (threshold %s) at %.3f s",
		 f->o->on_heap ? "the tracked heap" : "RSS",
		 (unsigned long long)f->cross_value, f->o->size_text,
		 (double)f->cross_time_ns / 1e9);
	Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
	ct.complete = 1;
	ct.note = note;
	rec.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
	rec.capture_trailer = &ct;
	bad = bad || write_record(w, &rec) < 0;
	return bad;
}

static int write_snapshot(struct follow *f, const char *path, char *err, size_t errlen)
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
	s->time_ns = f->cross_time_ns;
	int bad = ma_capture_writer_write(w, f->meta, f->meta_len) < 0;
	/* RSS over the wait; the heap is known at the crossing only. */
	for (size_t i = 0; i < f->nticks && !bad; i++) {
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		f->ticks[i].watermark = f->first_seq;
		rec.r_case = MEMATTACH__RECORD__R_TICK;
		rec.tick = &f->ticks[i];
		bad = write_record(w, &rec) < 0;
	}
	if (!bad) {
		ma_analysis_foreach_live(f->a, snap_block, s);
		snap_flush(s);
		bad = s->err;
	}
	if (!bad)
		bad = write_snapshot_end(f, w, s->next_seq);
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

static int crossed(void *ctx)
{
	return ((struct follow *)ctx)->crossed;
}

/* The snapshot and its message, at the crossing. */
static int take_snapshot(struct follow *f, const struct ma_threshold_opts *o)
{
	char err[1024], v1[32], v2[32];
	uint64_t t_write = ma_monotonic_ns();
	ma_analysis_finish(f->a);
	if (write_snapshot(f, o->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: cannot write the snapshot: %s\n", err);
		return MA_EXIT_OUTPUT;
	}
	/* The live set is frozen when the crossing tick is applied;
	 * CLOCK_MONOTONIC is one clock for the agent and us. */
	uint64_t at = f->start_mono_ns + f->cross_time_ns;
	double delay_ms = f->cross_mono_ns > at ? (double)(f->cross_mono_ns - at) / 1e6 : 0;
	double write_ms = (double)(ma_monotonic_ns() - t_write) / 1e6;
	ma_fmt_bytes(f->cross_value, v1, sizeof(v1));
	ma_fmt_bytes(f->a->live_bytes, v2, sizeof(v2));
	if (!o->quiet)
		fprintf(stderr, "memattach: %s reached %llu B = %s (threshold %s) at %.3f s; tracked live heap %s; live set taken %.1f ms after the crossing, snapshot written in %.0f ms: %s\n",
			o->on_heap ? "the tracked heap" : "RSS",
			(unsigned long long)f->cross_value, v1, o->size_text,
			(double)f->cross_time_ns / 1e9, v2, delay_ms, write_ms, o->out);
	fflush(stderr);
	return MA_EXIT_OK;
}

/* Not crossed: why (13 the target exited, 14 never reached). */
static int not_reached(const struct follow *f, const struct ma_threshold_opts *o, enum ma_capture_end end)
{
	char v1[32];
	ma_fmt_bytes(f->max_seen, v1, sizeof(v1));
	if (end == MA_END_STREAM) {
		fprintf(stderr, "memattach: pid %d exited before %s reached %s (highest seen: %s)\n",
			(int)o->pid, o->on_heap ? "the tracked heap" : "RSS", o->size_text, v1);
		return MA_EXIT_TARGET_GONE;
	}
	fprintf(stderr, "memattach: %s never reached %s%s (highest seen: %s)\n",
		o->on_heap ? "the tracked heap" : "RSS", o->size_text,
		end == MA_END_SIGNAL ? " before the interruption" : " within the duration", v1);
	return MA_EXIT_THRESHOLD_NOT_REACHED;
}

/* Who holds the memory, right away (summary on stdout), and the flame
 * graph page beside the snapshot: the report functions, called directly. */
static void show_snapshot(const struct ma_threshold_opts *o)
{
	char html[PATH_MAX + 8];
	size_t ol = strlen(o->out);
	if (ol > 7 && !strcmp(o->out + ol - 7, ".memcap"))
		snprintf(html, sizeof(html), "%.*s.html", (int)(ol - 7), o->out);
	else
		snprintf(html, sizeof(html), "%s.html", o->out);
	ma_report_args args = { .capture = o->out, .top = 10, .frames = 6 };
	ma_report_opts_init(&args.opts);
	fflush(stderr);
	ma_report_run(ma_report_format_find("summary"), &args);
	fflush(stdout);
	args.output = html;
	int frc = ma_report_run(ma_report_format_find("flamegraph"), &args);
	if (!o->quiet) {
		fprintf(stderr, "memattach: snapshot: %s\n", o->out);
		if (frc == MA_EXIT_OK)
			fprintf(stderr, "memattach: flame graph: %s\n", html);
	}
}

int ma_threshold_run(struct ma_capture *c, const struct ma_threshold_opts *o)
{
	struct follow f;
	int rc = MA_EXIT_OK;
	memset(&f, 0, sizeof(f));
	f.o = o;
	if (ma_live_init(&f.live) < 0) {
		fprintf(stderr, "memattach: out of memory\n");
		ma_session_send_stop(c->s);
		ma_session_cleanup(c->s);
		return MA_EXIT_ERROR;
	}
	f.a = f.live.a;
	c->s->on_record = on_record;
	c->s->on_record_ctx = &f;
	c->hook = crossed;
	c->hook_ctx = &f;
	c->duration_ns = o->duration_ns;
	enum ma_capture_end end = ma_capture_follow(c);
	if (end == MA_END_ERROR)
		rc = MA_EXIT_ERROR;
	else if (f.crossed)
		rc = take_snapshot(&f, o);
	c->s->on_record = NULL;
	if (!c->s->eof)
		ma_capture_stop(c);
	if (rc == MA_EXIT_OK && !f.crossed)
		rc = not_reached(&f, o, end);
	ma_live_free(&f.live);
	free(f.meta);
	free(f.ticks);
	ma_session_cleanup(c->s);
	if (rc == MA_EXIT_OK)
		show_snapshot(o);
	return rc;
}

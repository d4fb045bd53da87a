/* rx_trackers.c — see rx_trackers.h.  The stream is put in seq order by
 * one replayer; each event then goes to the trackers whose window and
 * threads it falls in, as EventBatch records rebuilt per tracker.  Every
 * other record goes to every active tracker as it comes (events pending
 * in a tracker's batch are written first), and those a later tracker
 * needs are kept to start it with. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/cmd/rx_trackers.h"
#include "cli/cmd/rx_viewer.h"
#include "cli/symbols/symbolize.h"
#include "cli/report/report.h"
#include "cli/util/json_writer.h"
#include "record_io.h"
#include "record_limits.h"

void rx_print_totals(FILE *f, const ma_analysis *a)
{
	ma_json j;
	ma_json_init(&j, f, 0);
	ma_json_object(&j, NULL);
	ma_json_u64(&j, "total_allocations", a->total_allocations);
	ma_json_u64(&j, "total_frees", a->total_frees);
	ma_json_u64(&j, "total_bytes_allocated", a->total_bytes_allocated);
	ma_json_u64(&j, "untracked_frees", a->untracked_frees);
	ma_json_u64(&j, "peak_bytes", a->peak_bytes);
	ma_json_u64(&j, "live_bytes", a->live_bytes);
	ma_json_u64(&j, "live_allocations", a->live_blocks);
	ma_report_sampled_json(a, &j);   /* --sample: which are estimates, the exact counts */
	ma_json_end(&j);
	fputc('\n', f);
	fflush(f);
}

/* One record into a tracker's file, its analysis and its viewer. */
static void emit(struct rx_tracker *t, const Memattach__Record *r)
{
	char err[256];
	if (t->w && !t->write_failed && ma_capture_writer_write_record(t->w, r) < 0) {
		fprintf(stderr, "memattach: %s: %s; its capture stops here\n", t->path,
			ma_capture_writer_error(t->w));
		t->write_failed = 1;
	}
	if (!t->live.failed && (ma_replayer_push(t->live.rp, r, err, sizeof(err)) < 0 ||
				ma_analysis_limit_error(t->live.a, err, sizeof(err)))) {
		fprintf(stderr, "memattach: %s: %s\n", t->path, err);
		t->live.failed = 1;
	}
	rx_viewer_send(t, r);
}

/* Deltas as the agent writes them (batch_wire.c); unsigned arithmetic
 * wraps both ways, so a reader adding them back gets the values. */
static void flush_batch(struct rx_tracker *t)
{
	static uint64_t seq[RX_BATCH], tm[RX_BATCH], size[RX_BATCH];
	static int64_t addr[RX_BATCH];
	static uint32_t kind[RX_BATCH], stack[RX_BATCH];
	struct rx_batch *b = &t->b;
	if (!b->n)
		return;
	for (size_t i = 0; i < b->n; i++) {
		const ma_event *e = &b->e[i], *p = i ? e - 1 : NULL;
		seq[i] = p ? e->seq - p->seq : e->seq;
		tm[i] = p ? e->time_ns - p->time_ns : e->time_ns;
		addr[i] = (int64_t)(p ? e->addr - p->addr : e->addr);
		size[i] = e->size;
		kind[i] = e->kind;
		stack[i] = e->stack;
	}
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	Memattach__EventBatch eb = MEMATTACH__EVENT_BATCH__INIT;
	eb.tid = b->tid;
	eb.n_seq_delta = eb.n_time_delta = eb.n_addr_delta = eb.n_size = eb.n_kind = eb.n_stack = b->n;
	eb.seq_delta = seq;
	eb.time_delta = tm;
	eb.addr_delta = addr;
	eb.size = size;
	eb.kind = kind;
	eb.stack = stack;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &eb;
	b->n = 0;
	emit(t, &r);
}

static uint64_t mask_at(const struct rx_thread *x, uint64_t seq)
{
	return seq >= x->born_seq ? x->mask : x->prev_mask;
}

static int owns(const struct rx_hub *h, const struct rx_tracker *t, uint32_t tid, uint64_t seq)
{
	if (!t->opener || tid == t->opener)
		return 1;
	uint32_t i = ma_u64map_get(&h->tids, tid);
	return i != UINT32_MAX && (mask_at(&h->thr[i], seq) >> t->slot & 1);
}

/* A tracker that was raw has the events of the batches it was given then. */
static int had_raw(const struct rx_hub *h, const struct rx_tracker *t, const ma_event *e)
{
	if (!t->was_raw)
		return 0;
	uint32_t i = ma_u64map_get(&h->tids, e->tid);
	return i != UINT32_MAX && e->seq < h->thr[i].raw_cut;
}

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	struct rx_hub *h = ctx;
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++) {
		struct rx_tracker *t = h->t[s];
		if (!t || !t->active || t->raw)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (e[i].seq < t->from_seq || !owns(h, t, e[i].tid, e[i].seq) || had_raw(h, t, &e[i]))
				continue;
			if (t->b.n && (t->b.tid != e[i].tid || t->b.n == RX_BATCH))
				flush_batch(t);
			t->b.tid = e[i].tid;
			t->b.e[t->b.n++] = e[i];
		}
	}
}

static const ma_replay_ops hub_ops = { .events = on_events };

int rx_hub_init(struct rx_hub *h, FILE *talk)
{
	memset(h, 0, sizeof(*h));
	h->talk = talk;
	h->rp = ma_replayer_new(&hub_ops, h, &h->res);
	return h->rp ? 0 : -1;
}

void rx_hub_free(struct rx_hub *h)
{
	ma_replayer_free(h->rp);
	ma_u64map_free(&h->tids);
	free(h->thr);
	free(h->pre);
	h->rp = NULL;
	h->thr = NULL;
	h->pre = NULL;
}

/* tid's entry, made (empty) on first sight; NULL: out of memory. */
static struct rx_thread *thread_of(struct rx_hub *h, uint32_t tid)
{
	uint32_t *slot = ma_u64map_slot(&h->tids, tid);
	if (!slot)
		return NULL;
	if (*slot == UINT32_MAX) {
		if (h->nthr == h->thr_cap) {
			size_t cap = h->thr_cap ? h->thr_cap * 2 : 64;
			struct rx_thread *n = realloc(h->thr, cap * sizeof(*n));
			if (!n)
				return NULL;
			h->thr = n;
			h->thr_cap = cap;
		}
		memset(&h->thr[h->nthr], 0, sizeof(h->thr[0]));
		*slot = (uint32_t)h->nthr++;
	}
	return &h->thr[*slot];
}

/* The thread's owners, decided once at its birth: the trackers that owned
 * its creator then and had opened before it. */
static void note_thread(struct rx_hub *h, const Memattach__ThreadInfo *ti)
{
	struct rx_thread *x = thread_of(h, ti->tid);
	if (!x)
		return;
	if (x->known && x->parent == ti->parent_tid && x->born_seq == ti->born_seq)
		return;   /* the same thread again (a new name) */
	uint64_t mask = 0;
	for (unsigned s = 0; ti->parent_tid && s < RX_MAX_TRACKERS; s++) {
		struct rx_tracker *t = h->t[s];
		if (t && t->active && t->opener && ti->born_seq >= t->from_seq &&
		    owns(h, t, ti->parent_tid, ti->born_seq))
			mask |= 1ull << s;
	}
	x->prev_mask = x->known ? x->mask : 0;
	x->mask = mask;
	x->born_seq = ti->born_seq;
	x->parent = ti->parent_tid;
	x->known = 1;
}

static void keep(struct rx_hub *h, const uint8_t *rec, size_t len)
{
	uint8_t hdr[10];
	size_t k = 0;
	for (uint64_t v = len; ; v >>= 7) {
		hdr[k++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	if (h->pre_cap - h->pre_len < k + len) {
		size_t cap = h->pre_cap ? h->pre_cap : 1 << 16;
		while (cap - h->pre_len < k + len)
			cap *= 2;
		uint8_t *n = realloc(h->pre, cap);
		if (!n)
			return;
		h->pre = n;
		h->pre_cap = cap;
	}
	memcpy(h->pre + h->pre_len, hdr, k);
	memcpy(h->pre + h->pre_len + k, rec, len);
	h->pre_len += k + len;
}

static void to_all(struct rx_hub *h, const Memattach__Record *r, int only_tid, uint32_t tid)
{
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++) {
		struct rx_tracker *t = h->t[s];
		if (!t || !t->active || t->raw || (only_tid && !owns(h, t, tid, UINT64_MAX)))
			continue;
		flush_batch(t);
		emit(t, r);
	}
}

/* The raw tracker's analysis gets the record itself (its file got its
 * bytes: rx_hub_write_raw); each thread's last seq is noted, for the
 * switch in rx_tracker_start. */
static void raw_push(struct rx_hub *h, const Memattach__Record *r)
{
	struct rx_tracker *t = h->raw;
	char err[256];
	if (r->r_case == MEMATTACH__RECORD__R_EVENTS) {
		/* the agent's batches are mostly compact (layout 1): their
		 * seq column is not a list of deltas */
		uint64_t end = ma_batch_seq_end(r->events);
		struct rx_thread *x = end ? thread_of(h, r->events->tid) : NULL;
		if (x && end > x->raw_end)
			x->raw_end = end;
	}
	if (!t->live.failed && (ma_replayer_push(t->live.rp, r, err, sizeof(err)) < 0 ||
				ma_analysis_limit_error(t->live.a, err, sizeof(err)))) {
		fprintf(stderr, "memattach: %s: %s\n", t->path, err);
		t->live.failed = 1;
	}
}

void rx_hub_write_raw(struct rx_hub *h, const uint8_t *framed, size_t len)
{
	struct rx_tracker *t = h->raw;
	if (t && t->w && !t->write_failed && ma_capture_writer_write(t->w, framed, len) < 0) {
		fprintf(stderr, "memattach: %s: %s; its capture stops here\n", t->path,
			ma_capture_writer_error(t->w));
		t->write_failed = 1;
	}
}

/* A second tracker opens: the raw one gets rebuilt batches from now on,
 * without the events of the batches it already has (per thread, seqs
 * come in order). */
static void end_raw(struct rx_hub *h)
{
	for (size_t i = 0; i < h->nthr; i++)
		h->thr[i].raw_cut = h->thr[i].raw_end;
	h->raw->raw = 0;
	h->raw->was_raw = 1;
	h->raw = NULL;
}

int rx_hub_push(struct rx_hub *h, const uint8_t *rec, size_t len, Memattach__Record **out,
		char *err, size_t errlen)
{
	Memattach__Record *r = memattach__record__unpack(NULL, len, rec);
	*out = r;
	if (!r) {
		snprintf(err, errlen, "a record that does not decode");
		return -1;
	}
	if (ma_record_check(r, err, errlen) < 0)
		return -1;
	if (r->r_case == MEMATTACH__RECORD__R_THREAD)
		note_thread(h, r->thread);
	if (h->raw)
		raw_push(h, r);
	/* the raw one alone to the end: no other tracker can open, nothing
	 * needs the stream ordered but its own analysis */
	if (!(h->raw && h->ending) && ma_replayer_push(h->rp, r, err, errlen) < 0)
		return -1;
	switch (r->r_case) {
	case MEMATTACH__RECORD__R_EVENTS:
		break;
	case MEMATTACH__RECORD__R_TICK:
		h->last_time_ns = r->tick->time_ns;
		h->last_rss = r->tick->rss_bytes;
		to_all(h, r, 0, 0);
		break;
	case MEMATTACH__RECORD__R_AGENT_TRAILER:
		h->got_trailer = 1;
		to_all(h, r, 0, 0);
		break;
	case MEMATTACH__RECORD__R_EVENTS_LOST:
		to_all(h, r, 1, r->events_lost->tid);
		break;
	case MEMATTACH__RECORD__R_THREAD_COUNTS:
		to_all(h, r, 1, r->thread_counts->tid);
		break;
	case MEMATTACH__RECORD__R_HEADER:
		h->got_header = 1;
		/* fall through */
	default:
		/* header, modules, stacks, frames, threads, warnings, and
		 * whatever a newer agent adds: a later tracker needs them */
		keep(h, rec, len);
		to_all(h, r, 0, 0);
		break;
	}
	return 0;
}

struct rx_tracker *rx_tracker_new(struct rx_hub *h, unsigned id, uint32_t opener,
				  const char *path, char *err, size_t errlen)
{
	unsigned s = 0;
	while (s < RX_MAX_TRACKERS && h->t[s])
		s++;
	if (s == RX_MAX_TRACKERS) {
		snprintf(err, errlen, "%d trackers are active in this process already; stop one first",
			 RX_MAX_TRACKERS);
		return NULL;
	}
	struct rx_tracker *t = calloc(1, sizeof(*t));
	if (!t || ma_live_init(&t->live) < 0) {
		free(t);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->w = ma_capture_writer_open(path, err, errlen);
	if (!t->w) {
		ma_live_free(&t->live);
		free(t);
		return NULL;
	}
	t->id = id;
	t->slot = s;
	t->opener = opener;
	t->viewer_fd = t->viewer_listen = -1;
	snprintf(t->path, sizeof(t->path), "%s", path);
	h->t[s] = t;
	return t;
}

void rx_tracker_drop(struct rx_hub *h, struct rx_tracker *t)
{
	if (h->raw == t)
		h->raw = NULL;
	ma_capture_writer_abandon(t->w);
	rx_viewer_close(t);
	h->t[t->slot] = NULL;
	ma_live_free(&t->live);
	free(t);
}

struct rx_tracker *rx_tracker_find(struct rx_hub *h, unsigned id)
{
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++)
		if (h->t[s] && h->t[s]->id == id)
			return h->t[s];
	return NULL;
}

void rx_tracker_start(struct rx_hub *h, struct rx_tracker *t, uint64_t from_seq)
{
	if (h->raw)
		end_raw(h);
	t->from_seq = from_seq;
	t->active = 1;
	/* the stream's first, of every thread, not live_mode (its viewer, come
	 * already or not, is sent rebuilt records): its records as they are */
	if (!from_seq && !h->got_header && !t->opener && !t->viewer_path[0]) {
		t->raw = 1;
		h->raw = t;
	}
	ma_capture_writer_publish(t->w);   /* the name is the capture's from now on */
	const uint8_t *p = h->pre, *end = h->pre + h->pre_len;
	while (p < end) {
		uint64_t len;
		int k = ma_varint_get(p, end, &len);
		if (k <= 0)
			break;
		Memattach__Record *r = memattach__record__unpack(NULL, len, p + k);
		p += k + len;
		if (!r)
			continue;
		if (r->r_case == MEMATTACH__RECORD__R_HEADER && r->header->first_seq < from_seq) {
			/* its start: event times stay the session's */
			r->header->first_seq = from_seq;
			r->header->rss_at_start = h->last_rss;
		}
		emit(t, r);
		memattach__record__free_unpacked(r, NULL);
	}
}

static void end_file(struct rx_tracker *t, int complete, const char *note)
{
	char err[512], data[64];
	if (!t->write_failed) {
		ma_capture_writer_data_path(t->w, data, sizeof data);
		if (ma_capture_writer_flush(t->w) == 0 &&
		    ma_symbolize_capture(data, t->w, "", err, sizeof err) < 0)
			fprintf(stderr, "memattach: warning: %s has no symbols: %s\n", t->path, err);
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		ct.complete = complete;
		ct.note = (char *)(note ? note : "");
		ct.end_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
		rec.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
		rec.capture_trailer = &ct;
		if (ma_capture_writer_write_record(t->w, &rec) < 0)
			fprintf(stderr, "memattach: %s: %s\n", t->path, ma_capture_writer_error(t->w));
	}
	if (ma_capture_writer_close(t->w) < 0 && !t->write_failed)
		fprintf(stderr, "memattach: %s: %s\n", t->path, ma_capture_writer_error(NULL));
	t->w = NULL;
}

void rx_tracker_close(struct rx_hub *h, struct rx_tracker *t, uint64_t watermark, const char *note)
{
	flush_batch(t);
	if (watermark) {
		/* the agent goes on: this capture ends as if it had stopped here */
		Memattach__Record r = MEMATTACH__RECORD__INIT;
		Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
		at.reason = MEMATTACH__STOP_REASON__STOP_REQUESTED;
		at.watermark = watermark;
		at.time_ns = h->last_time_ns;
		r.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
		r.agent_trailer = &at;
		emit(t, &r);
	}
	ma_replayer_finish(t->live.rp);
	rx_viewer_close(t);
	end_file(t, watermark || h->got_trailer, note);
	fprintf(h->talk, "final %u ", t->id);
	rx_print_totals(h->talk, t->live.a);
	for (size_t i = 0; i < h->nthr; i++) {
		h->thr[i].mask &= ~(1ull << t->slot);
		h->thr[i].prev_mask &= ~(1ull << t->slot);
	}
	h->t[t->slot] = NULL;
	if (h->raw == t)
		h->raw = NULL;
	ma_live_free(&t->live);
	free(t);
}

void rx_hub_end(struct rx_hub *h, const char *note)
{
	ma_replayer_finish(h->rp);
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++)
		if (h->t[s])
			rx_tracker_close(h, h->t[s], 0, h->got_trailer ? note : "the agent's stream ended early");
}

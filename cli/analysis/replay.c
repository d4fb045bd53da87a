/* replay.c — events back into sequence order.  Batches of different threads
 * interleave in the stream; a Tick with watermark W promises every seq < W
 * has been sent.  Pending events sit in a ring indexed by seq (seqs are
 * nearly dense), so releasing them in order is O(n) with no sort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis/replay.h"
#include "cli/analysis/replay_pipe.h"
#include "cli/util/huge_table.h"

/* Past this many slots the window stops growing and the oldest pending
 * events are released early (only a capture without watermarks or with a
 * wild seq gets there). */
#define MAX_WINDOW (1u << 23)

#define RUN 256

/* The ring's first size: 512 KiB in small pages, so that a short capture
 * does not hold a 2 MiB page it barely uses; it doubles from there. */
#define FIRST_WINDOW (1u << 14)

/* A pending event; its seq is its place in the ring (the window holds
 * seqs [base, base + capacity)), so it is not kept, and its kind shares a
 * word with its size: 32 bytes, not 48 (the ring is a report's largest
 * buffer, 128k slots for the bench's stream, read and written once per
 * event).  A size of 2^48 or more or a kind past 0xfffe (a wild or newer
 * capture) goes to a side ring, made only then, and the slot says KIND_WIDE. */
typedef struct slot {
	uint64_t time_ns, addr;
	uint64_t size_kind;     /* size | kind << 48; kind 0: empty */
	uint32_t tid, stack;
} slot;

#define SIZE_BITS 48
#define SIZE_MASK ((1ull << SIZE_BITS) - 1)
#define KIND_WIDE 0xffffu

typedef struct wide {
	uint64_t size;
	uint32_t kind;
} wide;

typedef struct window {
	ma_event own_run[RUN];
	ma_event *run;          /* released events not yet handed to ops->events */
	size_t nrun, run_cap;   /* (own_run, or where the pipe wants them) */
	slot *slot;             /* slot[seq & mask]; kind == 0: empty */
	wide *wide;             /* wide[seq & mask] for KIND_WIDE slots; NULL until one */
	uint64_t mask;          /* capacity - 1 */
	uint64_t base;          /* lowest seq not yet released */
	uint64_t hi;            /* highest pending seq + 1 */
	int based;              /* base is known (Header or first event) */
	const ma_replay_ops *ops;
	void *ctx;
	ma_replay_result *res;
} window;

static void flush_run(window *w)
{
	if (w->nrun)
		w->ops->events(w->ctx, w->run, w->nrun);
	w->nrun = 0;
}

static void deliver(window *w, const ma_event *e)
{
	w->res->events++;
	if (e->seq + 1 > w->res->max_seq)
		w->res->max_seq = e->seq + 1;
	if (e->time_ns > w->res->max_time_ns)
		w->res->max_time_ns = e->time_ns;
	if (w->ops->events) {
		w->run[w->nrun++] = *e;
		if (w->nrun == w->run_cap)
			flush_run(w);
	} else if (w->ops->event) {
		w->ops->event(w->ctx, e);
	}
}

/* The pending event at seq s (a slot not empty), emptied. */
static inline ma_event take(window *w, uint64_t s, slot *p)
{
	uint32_t kind = (uint32_t)(p->size_kind >> SIZE_BITS);
	ma_event e = { s, p->time_ns, p->addr, p->size_kind & SIZE_MASK, p->tid, kind, p->stack };
	if (kind == KIND_WIDE) {
		e.size = w->wide[s & w->mask].size;
		e.kind = w->wide[s & w->mask].kind;
	}
	p->size_kind = 0;
	return e;
}

/* release() for ops->events: straight into the run, the result's totals
 * kept in registers (stores to the run may alias them) and added once. */
static void release_runs(window *w, uint64_t from, uint64_t end)
{
	uint64_t n = 0, last = 0, max_time = w->res->max_time_ns;
	for (uint64_t s = from; s < end; s++) {
		__builtin_prefetch(&w->slot[(s + 16) & w->mask]);
		slot *p = &w->slot[s & w->mask];
		if (!(p->size_kind >> SIZE_BITS))
			continue;
		ma_event *e = &w->run[w->nrun++];
		*e = take(w, s, p);
		if (e->time_ns > max_time)
			max_time = e->time_ns;
		n++;
		last = s;
		if (w->nrun == w->run_cap)
			flush_run(w);
	}
	w->res->events += n;
	if (n && last + 1 > w->res->max_seq)
		w->res->max_seq = last + 1;
	w->res->max_time_ns = max_time;
}

/* Delivers every pending event with seq < upto, in order. */
static void release(window *w, uint64_t upto)
{
	if (upto <= w->base)
		return;
	uint64_t end = upto < w->hi ? upto : w->hi;
	if (w->ops->events) {
		release_runs(w, w->base, end);
	} else {
		for (uint64_t s = w->base; s < end; s++) {
			slot *p = &w->slot[s & w->mask];
			if (p->size_kind >> SIZE_BITS) {
				ma_event e = take(w, s, p);
				deliver(w, &e);
			}
		}
	}
	w->base = upto;
	if (w->hi < upto)
		w->hi = upto;
	flush_run(w);
}

/* The ring made at least need slots: grown in place (huge_table.h), each
 * pending slot then moved to its place under the wider mask (always into
 * the new part, so none is overwritten before it moved). */
static int grow(window *w, uint64_t need)
{
	uint64_t had = w->mask + 1, cap = had;
	while (cap < need)
		cap *= 2;
	wide *nw = w->wide ? realloc(w->wide, cap * sizeof *nw) : NULL;
	if (w->wide && !nw)
		return -1;
	w->wide = nw;
	slot *n = ma_huge_grow(w->slot, had * sizeof *n, cap * sizeof *n);
	if (!n)
		return -1;
	for (uint64_t s = w->base; s < w->hi; s++) {
		slot *from = &n[s & (had - 1)];
		uint64_t to = s & (cap - 1);
		if (to == (s & (had - 1)) || !(from->size_kind >> SIZE_BITS))
			continue;
		n[to] = *from;
		from->size_kind = 0;
		if (nw)
			nw[to] = nw[s & (had - 1)];
	}
	w->slot = n;
	w->mask = cap - 1;
	return 0;
}

/* A wide event's size and kind go aside (rare: kept out of line). */
static __attribute__((noinline)) int put_wide(window *w, const ma_event *e)
{
	if (!w->wide && !(w->wide = malloc((w->mask + 1) * sizeof *w->wide)))
		return -1;
	w->wide[e->seq & w->mask] = (wide){ e->size, e->kind };
	return 0;
}

/* The slot's size_kind for e. */
static inline int pack_size_kind(window *w, const ma_event *e, uint64_t *sk)
{
	if (e->size <= SIZE_MASK && e->kind < KIND_WIDE) {
		*sk = e->size | (uint64_t)e->kind << SIZE_BITS;
		return 0;
	}
	*sk = (uint64_t)KIND_WIDE << SIZE_BITS;
	return put_wide(w, e);
}

static int place(window *w, const ma_event *e)
{
	if (!w->based) {
		w->base = w->hi = e->seq;
		w->based = 1;
	}
	if (e->seq < w->base) {
		/* The watermark promise was broken: order is lost for this one. */
		w->res->late_events++;
		deliver(w, e);
		flush_run(w);
		return 0;
	}
	uint64_t span = e->seq - w->base + 1;
	if (span > w->mask + 1) {
		if (span <= MAX_WINDOW) {
			if (grow(w, span) < 0)
				return -1;
		} else {
			release(w, e->seq - (w->mask + 1) + 1);
		}
	}
	__builtin_prefetch(&w->slot[(e->seq + 16) & w->mask], 1);
	slot *p = &w->slot[e->seq & w->mask];
	if (p->size_kind >> SIZE_BITS) {
		w->res->invalid_events++;       /* duplicate seq: keep the first */
		return 0;
	}
	uint64_t sk;
	if (pack_size_kind(w, e, &sk) < 0)
		return -1;
	*p = (slot){ e->time_ns, e->addr, sk, e->tid, e->stack };
	if (e->seq + 1 > w->hi)
		w->hi = e->seq + 1;
	return 0;
}

static int place_checked(window *w, const ma_event *e, char *err, size_t errlen)
{
	if (e->kind == 0) {
		w->res->invalid_events++;
		return 0;
	}
	if (place(w, e) < 0) {
		snprintf(err, errlen, "out of memory ordering events");
		return MA_ERR_NOMEM;
	}
	return 0;
}

/* A free's size is 0 in the compact layout but for munmap and mremap's
 * old range (see memattach.proto). */
static int compact_has_size(uint32_t kind)
{
	return kind < 32 || kind == MEMATTACH__EVENT_KIND__MUNMAP ||
	       kind == MEMATTACH__EVENT_KIND__MREMAP_FREE;
}

static int compact_bad(const Memattach__EventBatch *b, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "event batch of thread %u (compact layout) has %s", b->tid, what);
	return -1;
}

/* The next listed event of a column of (index gap, value) pairs. */
static uint64_t pair_at(const uint64_t *pairs, size_t np, size_t k, uint64_t from)
{
	return k < np ? from + pairs[k] : UINT64_MAX;
}

/* Event i's seq in a compact batch: listed in the (index gap, delta)
 * pairs, or one past the previous event's (prev). */
static inline uint64_t compact_seq(const Memattach__EventBatch *b, size_t i, uint64_t prev,
				   size_t *sk, uint64_t *s_at)
{
	if (*s_at != i)
		return prev + 1;
	prev += b->seq_delta[*sk + 1];
	*sk += 2;
	*s_at = pair_at(b->seq_delta, b->n_seq_delta, *sk, i);
	return prev;
}

uint64_t ma_batch_seq_end(const Memattach__EventBatch *b)
{
	uint64_t seq = 0, end = 0;
	if (b->layout == 1) {
		size_t sk = 0;
		uint64_t s_at = pair_at(b->seq_delta, b->n_seq_delta, 0, 0);
		for (size_t i = 0; i < b->n_kind; i++) {
			seq = compact_seq(b, i, seq, &sk, &s_at);
			end = seq + 1 > end ? seq + 1 : end;
		}
		return end;
	}
	for (size_t i = 0; i < b->n_seq_delta; i++) {
		seq += b->seq_delta[i];
		end = seq + 1 > end ? seq + 1 : end;
	}
	return end;
}

/* EventBatch.layout 1: what is implied is left out (memattach.proto). */
static int batch_compact(window *w, const Memattach__EventBatch *b, char *err, size_t errlen)
{
	size_t n = b->n_kind, nsize = 0, nstack = 0;
	for (size_t i = 0; i < n; i++) {
		nsize += compact_has_size(b->kind[i]);
		nstack += b->kind[i] < 32;
	}
	if (b->n_addr_delta != n || b->n_size != nsize || (b->n_stack != nstack && b->n_stack) ||
	    b->n_seq_delta % 2 || b->n_time_delta % 2 || b->addr_shift > 63)
		return compact_bad(b, "columns of the wrong lengths", err, errlen);
	size_t sk = 0, tk = 0, zi = 0, ki = 0;
	uint64_t s_at = pair_at(b->seq_delta, b->n_seq_delta, 0, 0);
	uint64_t t_at = pair_at(b->time_delta, b->n_time_delta, 0, 0);
	uint64_t a = 0;
	ma_event e = { .tid = b->tid };
	for (size_t i = 0; i < n; i++) {
		e.seq = compact_seq(b, i, e.seq, &sk, &s_at);
		if (t_at == i) {
			e.time_ns += b->time_delta[tk + 1] * 1000;
			tk += 2;
			t_at = pair_at(b->time_delta, b->n_time_delta, tk, i);
		}
		a += (uint64_t)b->addr_delta[i];
		e.addr = a << b->addr_shift;
		e.kind = b->kind[i];
		e.size = compact_has_size(e.kind) ? b->size[zi++] : 0;
		e.stack = e.kind < 32 && b->n_stack ? b->stack[ki++] : 0;
		int rc = place_checked(w, &e, err, errlen);
		if (rc)
			return rc;
	}
	if (sk != b->n_seq_delta || tk != b->n_time_delta)
		return compact_bad(b, "seq or time entries past its events", err, errlen);
	return 0;
}

static int batch(window *w, const Memattach__EventBatch *b, char *err, size_t errlen)
{
	if (b->layout == 1)
		return batch_compact(w, b, err, errlen);
	if (b->layout)
		return compact_bad(b, "an unknown layout (a newer memattach wrote it)", err, errlen);
	size_t n = b->n_seq_delta;
	/* Every column has n entries; time and stack may be left out (zero). */
	if (b->n_addr_delta != n || b->n_size != n || b->n_kind != n ||
	    (b->n_time_delta != n && b->n_time_delta != 0) ||
	    (b->n_stack != n && b->n_stack != 0)) {
		snprintf(err, errlen,
			 "event batch of thread %u has columns of different lengths (%zu seq, %zu addr, %zu size, %zu kind)",
			 b->tid, n, b->n_addr_delta, b->n_size, b->n_kind);
		return -1;
	}
	ma_event e = { .tid = b->tid };
	for (size_t i = 0; i < n; i++) {
		if (i == 0) {
			e.seq = b->seq_delta[0];
			e.addr = (uint64_t)b->addr_delta[0];
			e.time_ns = b->n_time_delta ? b->time_delta[0] : 0;
		} else {
			e.seq += b->seq_delta[i];
			e.addr += (uint64_t)b->addr_delta[i];
			if (b->n_time_delta)
				e.time_ns += b->time_delta[i];
		}
		e.size = b->size[i];
		e.kind = b->kind[i];
		e.stack = b->n_stack ? b->stack[i] : 0;
		int rc = place_checked(w, &e, err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

struct ma_replayer {
	window w;
	ma_replay_result *res;
};

ma_replayer *ma_replayer_new(const ma_replay_ops *ops, void *ctx, ma_replay_result *res)
{
	ma_replayer *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memset(res, 0, sizeof *res);
	p->res = res;
	p->w.ops = ops;
	p->w.ctx = ctx;
	p->w.res = res;
	p->w.run = p->w.own_run;
	p->w.run_cap = RUN;
	p->w.mask = FIRST_WINDOW - 1;
	p->w.slot = ma_huge_zalloc((p->w.mask + 1) * sizeof *p->w.slot);
	if (!p->w.slot) {
		free(p);
		return NULL;
	}
	return p;
}

/* What a record does to the ordering window (and the result). */
static int push_window(ma_replayer *p, const Memattach__Record *rec, char *err, size_t errlen)
{
	window *w = &p->w;
	ma_replay_result *res = p->res;
	res->records++;
	switch (rec->r_case) {
	case MEMATTACH__RECORD__R_HEADER:
		res->has_header = 1;
		if (!w->based || w->base == w->hi) {
			/* Nothing pending yet: events of this session start here. */
			w->base = w->hi = rec->header->first_seq;
			w->based = 1;
		}
		break;
	case MEMATTACH__RECORD__R_EVENTS:
		return batch(w, rec->events, err, errlen);
	case MEMATTACH__RECORD__R_TICK:
		if (w->based)
			release(w, rec->tick->watermark);
		if (rec->tick->time_ns > res->max_time_ns)
			res->max_time_ns = rec->tick->time_ns;
		break;
	case MEMATTACH__RECORD__R_AGENT_TRAILER:
		res->has_agent_trailer = 1;
		if (w->based)
			release(w, rec->agent_trailer->watermark);
		if (rec->agent_trailer->time_ns > res->max_time_ns)
			res->max_time_ns = rec->agent_trailer->time_ns;
		break;
	case MEMATTACH__RECORD__R_CAPTURE_TRAILER:
		res->has_capture_trailer = 1;
		if (w->based)
			release(w, w->hi);
		break;
	default:
		break;
	}
	return 0;
}

void ma_replay_dispatch(const ma_replay_ops *ops, void *ctx, const Memattach__Record *rec)
{
	switch (rec->r_case) {
	case MEMATTACH__RECORD__R_HEADER:
		if (ops->header)
			ops->header(ctx, rec->header);
		break;
	case MEMATTACH__RECORD__R_STACK:
		if (ops->stack)
			ops->stack(ctx, rec->stack);
		break;
	case MEMATTACH__RECORD__R_PYTHON_FRAME:
		if (ops->python_frame)
			ops->python_frame(ctx, rec->python_frame);
		break;
	case MEMATTACH__RECORD__R_MODULE:
		if (ops->module)
			ops->module(ctx, rec->module);
		break;
	case MEMATTACH__RECORD__R_MODULE_UNLOAD:
		if (ops->module_unload)
			ops->module_unload(ctx, rec->module_unload);
		break;
	case MEMATTACH__RECORD__R_THREAD:
		if (ops->thread)
			ops->thread(ctx, rec->thread);
		break;
	case MEMATTACH__RECORD__R_TICK:
		if (ops->tick)
			ops->tick(ctx, rec->tick);
		break;
	case MEMATTACH__RECORD__R_AGENT_TRAILER:
		if (ops->agent_trailer)
			ops->agent_trailer(ctx, rec->agent_trailer);
		break;
	case MEMATTACH__RECORD__R_SYMBOL:
		if (ops->symbol)
			ops->symbol(ctx, rec->symbol);
		break;
	case MEMATTACH__RECORD__R_CAPTURE_TRAILER:
		if (ops->capture_trailer)
			ops->capture_trailer(ctx, rec->capture_trailer);
		break;
	case MEMATTACH__RECORD__R_TARGET_IDS:
		if (ops->target_ids)
			ops->target_ids(ctx, rec->target_ids);
		break;
	case MEMATTACH__RECORD__R_EVENTS_LOST:
		if (ops->events_lost)
			ops->events_lost(ctx, rec->events_lost);
		break;
	case MEMATTACH__RECORD__R_WARNING:
		if (ops->warning)
			ops->warning(ctx, rec->warning);
		break;
	case MEMATTACH__RECORD__R_THREAD_COUNTS:
		if (ops->thread_counts)
			ops->thread_counts(ctx, rec->thread_counts);
		break;
	default:
		break;          /* EventBatch (events go through the window), Control, or newer */
	}
}

int ma_replayer_push(ma_replayer *p, const Memattach__Record *rec, char *err, size_t errlen)
{
	int rc = push_window(p, rec, err, errlen);
	ma_replay_dispatch(p->w.ops, p->w.ctx, rec);
	return rc;
}

void ma_replayer_run_into(ma_replayer *p, ma_event *buf, size_t cap)
{
	p->w.run = buf;
	p->w.run_cap = cap;
}

void ma_replayer_finish(ma_replayer *p)
{
	/* Whatever is still pending happened; deliver it in order. */
	if (p->w.based)
		release(&p->w, p->w.hi);
}

void ma_replayer_free(ma_replayer *p)
{
	if (!p)
		return;
	ma_huge_free(p->w.slot, (p->w.mask + 1) * sizeof *p->w.slot);
	free(p->w.wide);
	free(p);
}

int ma_replay_read_all(ma_capture_reader *r, ma_replayer *p,
		       void (*keep)(void *kctx, Memattach__Record *rec), void *kctx,
		       char *err, size_t errlen)
{
	int rc = 0;
	Memattach__Record *rec;
	int k, borrowed;
	while ((k = ma_capture_reader_next_borrow(r, &rec, &borrowed)) > 0) {
		char why[400];
		rc = ma_replayer_push(p, rec, why, sizeof why);
		if (rc == MA_ERR_NOMEM)
			snprintf(err, errlen, "%s", why);
		else if (rc < 0)
			snprintf(err, errlen, "corrupt capture at compressed byte %llu: %s",
				 (unsigned long long)ma_capture_reader_offset(r), why);
		if (keep && rec->r_case != MEMATTACH__RECORD__R_EVENTS)
			keep(kctx, rec);
		else if (!borrowed)
			ma_capture_record_free(rec);
		if (rc < 0)
			break;
	}
	if (rc == 0 && k < 0) {
		snprintf(err, errlen, "%s", ma_capture_reader_error(r));
		rc = -1;
	}
	ma_replayer_finish(p);
	return rc;
}

/* One thread: read, order and hand out in turn. */
static int replay_serial(ma_capture_reader *r, const ma_replay_ops *ops, void *ctx,
			 ma_replay_result *res, char *err, size_t errlen, int *started)
{
	ma_replayer *p = ma_replayer_new(ops, ctx, res);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return MA_ERR_NOMEM;
	}
	*started = 1;
	int rc = ma_replay_read_all(r, p, NULL, NULL, err, errlen);
	ma_replayer_free(p);
	return rc;
}

int ma_replay_reader(ma_capture_reader *r, const ma_replay_ops *ops, void *ctx,
		     ma_replay_result *res, char *err, size_t errlen)
{
	int started = 0;
	int rc = ma_replay_piped(r, ops, ctx, res, err, errlen, &started);
	if (rc == MA_REPLAY_NO_PIPE)
		rc = replay_serial(r, ops, ctx, res, err, errlen, &started);
	if (!started)
		return rc;
	res->truncated = ma_capture_reader_truncated(r);
	res->damage = *ma_capture_reader_damage(r);
	const ma_capture_damage *d = &res->damage;
	if (rc == 0 && d->ranges && !res->records) {
		/* Damage everywhere: that is no capture, not a report of nothing. */
		snprintf(err, errlen,
			 "corrupt capture at compressed byte %llu: nothing could be read (zstd: %s; %llu bytes in %llu damaged ranges)",
			 (unsigned long long)d->first_from, d->first_error,
			 (unsigned long long)d->bytes, (unsigned long long)d->ranges);
		rc = -1;
	}
	res->compressed_bytes = ma_capture_reader_offset(r);
	return rc;
}

int ma_replay_file(const char *path, const ma_replay_ops *ops, void *ctx,
		   ma_replay_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof *res);
	ma_capture_reader *r = ma_capture_reader_open(path, err, errlen);
	if (!r)
		return -1;
	int rc = ma_replay_reader(r, ops, ctx, res, err, errlen);
	ma_capture_reader_close(r);
	return rc;
}

/* analysis.c — the analysis engine: applies events in seq order to a live
 * table and keeps every total the reports need.  O(1) per event: heap
 * blocks in an open-addressing hash map, mmap blocks in a small sorted
 * array, and the live set at the peak kept lazily per stack (see touch()). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis/analysis.h"
#include "cli/analysis/range_cells.h"
#include "cli/analysis/sample_weight.h"
#include "record_limits.h"
#include "cli/capture/capture_file.h"
#include "record_io.h"
#include "cli/util/u64map.h"

/* Blocks and mappings the filter did not select are still tracked (so
 * their frees are recognised and ignored) under this stack index. */
#define EXCLUDED UINT32_MAX


/* ------------------------------------------------------- live heap blocks */

typedef struct block {
	uint64_t addr;           /* 0: empty slot */
	uint64_t size;
	uint32_t stack;          /* index in stacks[]; with the time range, its cell */
	uint16_t kind;
	uint16_t up;             /* --sample: its block count rounds up (sample_weight.h) */
} block;

typedef struct live_table {
	block *t;
	size_t mask, n;
	int shift;
} live_table;

static inline size_t live_home(const live_table *l, uint64_t addr)
{
	return (size_t)((addr * 0x9e3779b97f4a7c15ull) >> l->shift);
}

static int live_init(live_table *l, int bits)
{
	l->t = calloc((size_t)1 << bits, sizeof *l->t);
	if (!l->t)
		return -1;
	l->mask = ((size_t)1 << bits) - 1;
	l->shift = 64 - bits;
	l->n = 0;
	return 0;
}

static inline block *live_find(const live_table *l, uint64_t addr)
{
	for (size_t i = live_home(l, addr);; i = (i + 1) & l->mask) {
		if (l->t[i].addr == addr)
			return &l->t[i];
		if (!l->t[i].addr)
			return NULL;
	}
}

static int live_grow(live_table *l)
{
	live_table n;
	if (live_init(&n, 64 - l->shift + 1) < 0)
		return -1;
	for (size_t i = 0; i <= l->mask; i++) {
		if (!l->t[i].addr)
			continue;
		size_t j = live_home(&n, l->t[i].addr);
		while (n.t[j].addr)
			j = (j + 1) & n.mask;
		n.t[j] = l->t[i];
	}
	n.n = l->n;
	free(l->t);
	*l = n;
	return 0;
}

/* Inserts a block whose address is known not to be live. */
static int live_insert(live_table *l, const block *b)
{
	if ((l->n + 1) * 10 > (l->mask + 1) * 7 && live_grow(l) < 0)
		return -1;
	size_t i = live_home(l, b->addr);
	while (l->t[i].addr)
		i = (i + 1) & l->mask;
	l->t[i] = *b;
	l->n++;
	return 0;
}

/* Removes the slot (backward-shift deletion: no tombstones, so lookups stay
 * short however many blocks come and go). */
static void live_remove(live_table *l, block *b)
{
	size_t i = (size_t)(b - l->t);
	size_t j = i;
	for (;;) {
		j = (j + 1) & l->mask;
		if (!l->t[j].addr)
			break;
		size_t k = live_home(l, l->t[j].addr);
		/* The entry at j may move to i unless its home lies in (i, j]. */
		int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
		if (!stays) {
			l->t[i] = l->t[j];
			i = j;
		}
	}
	l->t[i].addr = 0;
	l->n--;
}

/* --------------------------------------------------------- mmap blocks */

typedef struct piece {
	uint64_t start, end;
	uint32_t stack, kind;
	uint32_t map;            /* index in npieces[]: pieces of one mapping */
} piece;

/* ------------------------------------------------------------ the engine */

struct ma_analysis_priv {
	live_table live;
	piece *pieces;
	size_t npieces, cap_pieces;
	uint32_t *map_pieces;    /* per mapping: pieces left */
	size_t nmaps, cap_maps;
	uint32_t *free_maps;
	size_t nfree_maps;
	uint64_t epoch;          /* bumped at every new global peak */
	uint32_t *small_stack;   /* stack id → index + 1, for small ids */
	size_t n_small_stack;
	ma_u64map big_stack;
	size_t cap_stacks;
	uint64_t *frame_pool;
	size_t nframes, cap_frames;
	size_t *frame_off;       /* per stack: offset in frame_pool */
	int by_thread;           /* allocations go to (thread, stack) entries */
	ma_u64map pairs;         /* tid << 32 | stack index → entry index */
	uint64_t *pair_last;     /* per stack index: its last pair (tid << 32 | entry) */
	size_t cap_pair_last;
	ma_u64map tids;
	uint32_t last_tid, last_tid_idx;
	size_t cap_threads;
	ma_u64map syms;
	size_t cap_syms;
	ma_u64map pyf;
	size_t cap_pyf;
	size_t cap_samples;
	size_t cap_modules;
	int oom;
	const char *over;        /* what went past its cross-record limit */
	uint32_t over_limit;
	/* filter */
	ma_filter filter;
	char *thread_name;
	ma_u64map named;         /* tid -> 1 when its last name is the filter's */
	int filtering;
	/* snapshots: stacks changed since the last one (snap_gen marks them) */
	unsigned snap_max;
	uint64_t snap_gen;
	uint32_t *dirty;
	size_t ndirty, cap_dirty, cap_snaps;
	uint64_t snap_interval, snap_due, last_tick_ns;
	/* the time range (ma_analysis_want_range): blocks and pieces hold
	 * their cell, not their entry; NULL when not kept */
	range_cells *range;
	/* progress */
	void (*progress)(void *ctx, uint64_t done, uint64_t total);
	void *progress_ctx;
	ma_capture_reader *reader;
	unsigned progress_n;
	uint64_t freeze_at;      /* ma_analysis_freeze_at: UINT64_MAX = never */
};

#define SMALL_STACK_IDS (1u << 22)

static void *grow_array(void *p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	size_t c = *cap ? *cap : 16;
	while (c < need)
		c *= 2;
	void *n = realloc(p, c * elem);
	if (!n)
		return NULL;
	*cap = c;
	return n;
}

#define GROW(a, arr, cap, need)                                                  \
	do {                                                                     \
		void *g_ = grow_array((arr), &(cap), (need), sizeof *(arr));     \
		if (!g_) {                                                       \
			(a)->priv->oom = 1;                                      \
			return 0;                                                \
		}                                                                \
		(arr) = g_;                                                      \
	} while (0)

/* A count past its cross-record limit (record_limits.h): nonzero, and the
 * analysis ends with an error (a hostile stream must not make it grow
 * without bound). */
static int over_limit(struct ma_analysis_priv *p, size_t n, uint32_t limit, const char *what)
{
	if (n < limit)
		return 0;
	if (!p->over) {
		p->over = what;
		p->over_limit = limit;
	}
	return 1;
}

/* Room for entry n of a table indexed by key (records repeat: the first
 * one counts); returns from the caller when the key is known or memory
 * runs out (p->oom). */
#define ADD_KEYED(p, map, key, arr, cap, n)                                     \
	do {                                                                     \
		if (ma_u64map_get((map), (key)) != UINT32_MAX)                   \
			return;                                                  \
		void *g_ = grow_array((arr), &(cap), (n) + 1, sizeof *(arr));    \
		if (g_)                                                          \
			(arr) = g_;                                              \
		if (!g_ || ma_u64map_put((map), (key), (uint32_t)(n)) < 0) {     \
			(p)->oom = 1;                                            \
			return;                                                  \
		}                                                                \
	} while (0)

ma_analysis *ma_analysis_new(void)
{
	ma_analysis *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->priv = calloc(1, sizeof *a->priv);
	if (!a->priv || live_init(&a->priv->live, 16) < 0) {
		free(a->priv);
		free(a);
		return NULL;
	}
	a->priv->last_tid_idx = UINT32_MAX;
	a->priv->freeze_at = UINT64_MAX;
	return a;
}

void ma_analysis_free(ma_analysis *a)
{
	if (!a)
		return;
	struct ma_analysis_priv *p = a->priv;
	free(p->live.t);
	free(p->pieces);
	free(p->map_pieces);
	free(p->free_maps);
	free(p->small_stack);
	ma_u64map_free(&p->big_stack);
	free(p->frame_pool);
	free(p->frame_off);
	ma_u64map_free(&p->pairs);
	free(p->pair_last);
	ma_u64map_free(&p->tids);
	ma_u64map_free(&p->named);
	ma_u64map_free(&p->syms);
	ma_u64map_free(&p->pyf);
	free(p->thread_name);
	free(p->dirty);
	if (p->range)
		range_cells_free(p->range);
	free(p->range);
	free(p);
	for (size_t i = 0; i < a->nmodules; i++) {
		free(a->modules[i].path);
		free(a->modules[i].build_id);
	}
	free(a->modules);
	for (size_t i = 0; i < a->nsnapshots; i++)
		free(a->snapshots[i].changed);
	free(a->snapshots);
	for (size_t i = 0; i < a->nthreads; i++)
		free(a->threads[i].name);
	for (size_t i = 0; i < a->nsymbols; i++) {
		free(a->symbols[i].function);
		free(a->symbols[i].file);
		free(a->symbols[i].module);
		for (uint32_t k = 0; k < a->symbols[i].ninlined; k++) {
			free(a->symbols[i].inlined[k].function);
			free(a->symbols[i].inlined[k].file);
		}
		free(a->symbols[i].inlined);
	}
	for (size_t i = 0; i < a->npyframes; i++) {
		free(a->pyframes[i].function);
		free(a->pyframes[i].file);
	}
	free(a->stacks);
	free(a->threads);
	free(a->samples);
	free(a->symbols);
	free(a->pyframes);
	free(a->command_line);
	free(a->comm);
	ma_u64map_free(&a->host_tids);
	free(a->executable);
	free(a->hostname);
	free(a->agent_version);
	free(a->note);
	for (size_t i = 0; i < a->nwarnings; i++)
		free(a->warnings[i]);
	free(a->warnings);
	free(a);
}

static uint32_t stack_lookup(const ma_analysis *a, uint32_t id)
{
	const struct ma_analysis_priv *p = a->priv;
	if (id < SMALL_STACK_IDS)
		return id < p->n_small_stack && p->small_stack[id] ? p->small_stack[id] - 1 : UINT32_MAX;
	return ma_u64map_get(&p->big_stack, id);
}

/* A new, empty entry at the end of stacks[].  UINT32_MAX on OOM. */
static uint32_t new_entry(ma_analysis *a, uint32_t id, uint32_t tid)
{
	struct ma_analysis_priv *p = a->priv;
	if (over_limit(p, a->nstacks, MA_MAX_STACKS, "distinct stacks"))
		return UINT32_MAX;
	void *s = grow_array(a->stacks, &p->cap_stacks, a->nstacks + 1, sizeof *a->stacks);
	if (!s)
		return UINT32_MAX;
	a->stacks = s;
	size_t *o = realloc(p->frame_off, p->cap_stacks * sizeof *o);
	if (!o)
		return UINT32_MAX;
	p->frame_off = o;
	uint32_t idx = (uint32_t)a->nstacks++;
	memset(&a->stacks[idx], 0, sizeof a->stacks[idx]);
	a->stacks[idx].id = id;
	a->stacks[idx].tid = tid;
	a->stacks[idx].epoch = p->epoch;
	p->frame_off[idx] = 0;
	return idx;
}

/* Index of stack id, created empty when first seen.  UINT32_MAX on OOM. */
static uint32_t stack_add(ma_analysis *a, uint32_t id);

/* Per event: the lookup inline, a new stack out of line. */
static inline uint32_t stack_index(ma_analysis *a, uint32_t id)
{
	uint32_t idx = stack_lookup(a, id);
	return idx != UINT32_MAX ? idx : stack_add(a, id);
}

static __attribute__((noinline)) uint32_t stack_add(ma_analysis *a, uint32_t id)
{
	struct ma_analysis_priv *p = a->priv;
	uint32_t idx;
	if (id < SMALL_STACK_IDS && id >= p->n_small_stack) {
		size_t n = p->n_small_stack ? p->n_small_stack : 1024;
		while (n <= id)
			n *= 2;
		uint32_t *t = realloc(p->small_stack, n * sizeof *t);
		if (!t)
			goto oom;
		memset(t + p->n_small_stack, 0, (n - p->n_small_stack) * sizeof *t);
		p->small_stack = t;
		p->n_small_stack = n;
	}
	idx = new_entry(a, id, 0);
	if (idx == UINT32_MAX)
		goto oom;
	if (id < SMALL_STACK_IDS)
		p->small_stack[id] = idx + 1;
	else if (ma_u64map_put(&p->big_stack, id, idx) < 0)
		goto oom;
	return idx;
oom:
	p->oom = 1;
	return UINT32_MAX;
}

/* thread_entry's lookup in the pairs' map, the entry made when new (its
 * frames are the stack's, set at the end); remembered as st's last. */
static __attribute__((noinline)) uint32_t thread_entry_find(ma_analysis *a, uint32_t st, uint32_t tid)
{
	struct ma_analysis_priv *p = a->priv;
	uint32_t *slot = ma_u64map_slot(&p->pairs, (uint64_t)tid << 32 | st);
	if (!slot)
		goto oom;
	if (*slot == UINT32_MAX) {
		uint32_t idx = new_entry(a, a->stacks[st].id, tid);
		if (idx == UINT32_MAX)
			goto oom;
		*slot = idx;
	}
	if (st >= p->cap_pair_last) {
		size_t had = p->cap_pair_last;
		void *g = grow_array(p->pair_last, &p->cap_pair_last, (size_t)st + 1, sizeof *p->pair_last);
		if (!g)
			goto oom;
		p->pair_last = g;
		memset(p->pair_last + had, 0, (p->cap_pair_last - had) * sizeof *p->pair_last);
	}
	p->pair_last[st] = (uint64_t)tid << 32 | *slot;
	return *slot;
oom:
	p->oom = 1;
	return UINT32_MAX;
}

/* With ma_analysis_split_by_thread: the entry of stack index st for thread
 * tid (nonzero).  A stack's allocations mostly come from one thread in a
 * row: its last thread's entry inline, the map out of line. */
static inline uint32_t thread_entry(ma_analysis *a, uint32_t st, uint32_t tid)
{
	struct ma_analysis_priv *p = a->priv;
	if (st < p->cap_pair_last && p->pair_last[st] >> 32 == tid)
		return (uint32_t)p->pair_last[st];
	return thread_entry_find(a, st, tid);
}

/* Called before a stack's live value changes: if a new global peak was
 * reached since its last change, its current value is its value at the
 * peak.  This makes the live set at the peak O(1) per event. */
static void mark_dirty(ma_analysis *a, ma_stack_stats *s)
{
	struct ma_analysis_priv *p = a->priv;
	void *g = grow_array(p->dirty, &p->cap_dirty, p->ndirty + 1, sizeof *p->dirty);
	if (!g) {
		p->oom = 1;
		return;
	}
	p->dirty = g;
	p->dirty[p->ndirty++] = (uint32_t)(s - a->stacks);
	s->snap_gen = p->snap_gen;
}

static inline void touch(ma_analysis *a, ma_stack_stats *s)
{
	if (s->epoch != a->priv->epoch) {
		s->at_peak = s->live;
		s->epoch = a->priv->epoch;
	}
	/* snap_gen is 0 for everyone while snapshots are off */
	if (__builtin_expect(s->snap_gen != a->priv->snap_gen, 0))
		mark_dirty(a, s);
}

static inline void check_peak(ma_analysis *a, const ma_event *e)
{
	if (a->live_bytes > a->peak_bytes) {
		a->peak_bytes = a->live_bytes;
		a->peak_blocks = a->live_blocks;
		a->peak_seq = e->seq;
		a->peak_time_ns = e->time_ns;
		a->priv->epoch++;
	}
}

static ma_thread_stats *thread_find(ma_analysis *a, uint32_t tid);

/* Per event: the last thread's inline, another one out of line. */
static inline ma_thread_stats *thread_of(ma_analysis *a, uint32_t tid)
{
	struct ma_analysis_priv *p = a->priv;
	if (p->last_tid_idx != UINT32_MAX && p->last_tid == tid)
		return &a->threads[p->last_tid_idx];
	return thread_find(a, tid);
}

static __attribute__((noinline)) ma_thread_stats *thread_find(ma_analysis *a, uint32_t tid)
{
	struct ma_analysis_priv *p = a->priv;
	uint32_t idx = ma_u64map_get(&p->tids, tid);
	if (idx == UINT32_MAX) {
		if (over_limit(p, a->nthreads, MA_MAX_THREADS, "distinct threads"))
			return NULL;
		GROW(a, a->threads, p->cap_threads, a->nthreads + 1);
		idx = (uint32_t)a->nthreads;
		if (ma_u64map_put(&p->tids, tid, idx) < 0) {
			p->oom = 1;
			return NULL;
		}
		memset(&a->threads[idx], 0, sizeof a->threads[idx]);
		a->threads[idx].tid = tid;
		a->threads[idx].selected = p->filter.thread_name && ma_u64map_get(&p->named, tid) == 1;
		a->nthreads++;
	}
	p->last_tid = tid;
	p->last_tid_idx = idx;
	return &a->threads[idx];
}

/* What a block stands for: itself, or in a --sample capture the
 * estimate its sample makes (sample_weight.h). */
static inline ma_count weigh(const ma_analysis *a, uint32_t kind, uint64_t size, int up)
{
	if (__builtin_expect(!a->sample_interval, 1))
		return (ma_count){ 1, size };
	return ma_sample_weight(a->sample_interval, kind, size, up);
}

static inline ma_count weigh_block(const ma_analysis *a, const block *b)
{
	return weigh(a, b->kind, b->size, b->up);
}

/* ------------------------------------------------- the time range's cells */

/* The entry of a block's slot (its cell with the time range). */
static inline uint32_t entry_of(const ma_analysis *a, uint32_t slot)
{
	const range_cells *r = a->priv->range;
	return __builtin_expect(!r, 1) ? slot : r->cells[slot].entry;
}

/* The range past its limits or memory: blocks and pieces hold their entry
 * again, and the page has no range. */
static void range_give_up(ma_analysis *a)
{
	struct ma_analysis_priv *p = a->priv;
	for (size_t i = 0; p->live.t && i <= p->live.mask; i++)
		if (p->live.t[i].addr && p->live.t[i].stack != EXCLUDED)
			p->live.t[i].stack = p->range->cells[p->live.t[i].stack].entry;
	for (size_t i = 0; i < p->npieces; i++)
		if (p->pieces[i].stack != EXCLUDED)
			p->pieces[i].stack = p->range->cells[p->pieces[i].stack].entry;
	range_cells_free(p->range);
	free(p->range);
	p->range = NULL;
}

/* A new block of entry st, allocated now: its slot. */
static inline uint32_t into_cell(ma_analysis *a, uint32_t st, ma_count w)
{
	range_cells *r = a->priv->range;
	if (__builtin_expect(!r, 1))
		return st;
	uint32_t cell = range_cell_of(r, st);
	if (cell == UINT32_MAX) {
		range_give_up(a);
		return st;
	}
	range_alloc(r, cell, w);
	return cell;
}

/* w of the block in slot is freed now: its entry. */
static inline uint32_t out_of_cell(ma_analysis *a, uint32_t slot, ma_count w)
{
	range_cells *r = a->priv->range;
	if (__builtin_expect(!r, 1))
		return slot;
	uint32_t entry = r->cells[slot].entry;
	if (range_free(r, slot, w) < 0)
		range_give_up(a);
	return entry;
}

/* The snapshots were halved (n before, k after): so are the buckets. */
static void range_thinned(ma_analysis *a, uint32_t n, uint32_t k)
{
	struct ma_analysis_priv *p = a->priv;
	uint32_t *to = range_thin(p->range, n, k);
	if (!to) {
		range_give_up(a);
		return;
	}
	for (size_t i = 0; p->live.t && i <= p->live.mask; i++)
		if (p->live.t[i].addr && p->live.t[i].stack != EXCLUDED)
			p->live.t[i].stack = to[p->live.t[i].stack];
	for (size_t i = 0; i < p->npieces; i++)
		if (p->pieces[i].stack != EXCLUDED)
			p->pieces[i].stack = to[p->pieces[i].stack];
	free(to);
}

/* Takes a whole block (in slot) out of the live totals (a free). */
static inline void drop_block(ma_analysis *a, uint32_t slot, ma_count w)
{
	ma_stack_stats *s = &a->stacks[out_of_cell(a, slot, w)];
	touch(a, s);
	s->live.bytes -= w.bytes;
	s->live.count -= w.count;
	s->freed.bytes += w.bytes;
	s->freed.count += w.count;
	a->live_bytes -= w.bytes;
	a->live_blocks -= w.count;
	a->total_frees += w.count;
	a->total_bytes_freed += w.bytes;
}

/* Takes len bytes of a mapping (in slot) out of the live totals (a part
 * unmapped: the block stays). */
static void drop_bytes(ma_analysis *a, uint32_t slot, uint64_t len)
{
	ma_stack_stats *st = &a->stacks[out_of_cell(a, slot, (ma_count){ 0, len })];
	touch(a, st);
	st->live.bytes -= len;
	st->freed.bytes += len;
	a->live_bytes -= len;
	a->total_bytes_freed += len;
}

/* A new block of entry stack in the live totals. */
static inline void add_block(ma_analysis *a, uint32_t stack, ma_count w)
{
	ma_stack_stats *s = &a->stacks[stack];
	touch(a, s);
	s->live.bytes += w.bytes;
	s->live.count += w.count;
	if (s->live.bytes > s->max_live_bytes)
		s->max_live_bytes = s->live.bytes;
	a->live_bytes += w.bytes;
	a->live_blocks += w.count;
}

/* Removes [lo, hi) from the tracked mappings.  Returns the counted bytes
 * removed; *any is set when any mapping (counted or not) was touched. */
static uint64_t unmap_range(ma_analysis *a, uint64_t lo, uint64_t hi, int *any)
{
	struct ma_analysis_priv *p = a->priv;
	if (hi <= lo)
		return 0;
	/* First piece whose end is above lo (pieces are disjoint and sorted). */
	size_t l = 0, r = p->npieces;
	while (l < r) {
		size_t m = (l + r) / 2;
		if (p->pieces[m].end <= lo)
			l = m + 1;
		else
			r = m;
	}
	uint64_t removed = 0;
	size_t i = l;
	while (i < p->npieces && p->pieces[i].start < hi) {
		piece *pc = &p->pieces[i];
		uint64_t s = pc->start > lo ? pc->start : lo;
		uint64_t e = pc->end < hi ? pc->end : hi;
		uint64_t len = e - s;
		*any = 1;
		uint32_t slot = pc->stack;
		int ex = slot == EXCLUDED;
		if (!ex)
			removed += len;
		if (s == pc->start && e == pc->end) {
			uint32_t map = pc->map;
			memmove(pc, pc + 1, (p->npieces - i - 1) * sizeof *pc);
			p->npieces--;
			if (--p->map_pieces[map] == 0) {
				if (!ex)
					drop_block(a, slot, (ma_count){ 1, len });
				p->free_maps[p->nfree_maps++] = map;
			} else if (!ex) {
				drop_bytes(a, slot, len);
			}
			continue;
		}
		if (!ex)
			drop_bytes(a, slot, len);
		if (s > pc->start && e < pc->end) {
			/* A hole in the middle: split in two pieces of one mapping. */
			void *g = grow_array(p->pieces, &p->cap_pieces, p->npieces + 1, sizeof *p->pieces);
			if (!g) {
				p->oom = 1;
				return removed;
			}
			p->pieces = g;
			pc = &p->pieces[i];
			memmove(pc + 2, pc + 1, (p->npieces - i - 1) * sizeof *pc);
			pc[1] = pc[0];
			pc[0].end = s;
			pc[1].start = e;
			p->npieces++;
			p->map_pieces[pc->map]++;
			i += 2;
		} else if (s > pc->start) {
			pc->end = s;
			i++;
		} else {
			pc->start = e;
			i++;
		}
	}
	return removed;
}

static void map_block(ma_analysis *a, const ma_event *e, uint32_t stack)
{
	struct ma_analysis_priv *p = a->priv;
	if (e->size == 0 || e->addr + e->size < e->addr)
		return;
	int any = 0;
	unmap_range(a, e->addr, e->addr + e->size, &any);
	uint32_t map;
	if (p->nfree_maps) {
		map = p->free_maps[--p->nfree_maps];
	} else {
		void *g = grow_array(p->map_pieces, &p->cap_maps, p->nmaps + 1, sizeof *p->map_pieces);
		if (!g)
			goto oom;
		p->map_pieces = g;
		/* free_maps never holds more than nmaps entries */
		uint32_t *f = realloc(p->free_maps, p->cap_maps * sizeof *f);
		if (!f)
			goto oom;
		p->free_maps = f;
		map = (uint32_t)p->nmaps++;
	}
	void *g = grow_array(p->pieces, &p->cap_pieces, p->npieces + 1, sizeof *p->pieces);
	if (!g)
		goto oom;
	p->pieces = g;
	/* its cell before the pieces move (giving the range up walks them) */
	uint32_t slot = stack == EXCLUDED ? EXCLUDED : into_cell(a, stack, (ma_count){ 1, e->size });
	size_t l = 0, r = p->npieces;
	while (l < r) {
		size_t m = (l + r) / 2;
		if (p->pieces[m].start < e->addr)
			l = m + 1;
		else
			r = m;
	}
	memmove(&p->pieces[l + 1], &p->pieces[l], (p->npieces - l) * sizeof *p->pieces);
	p->pieces[l] = (piece){ e->addr, e->addr + e->size, slot, e->kind, map };
	p->npieces++;
	p->map_pieces[map] = 1;
	if (stack != EXCLUDED)
		add_block(a, stack, (ma_count){ 1, e->size });
	return;
oom:
	p->oom = 1;
}

static int selected(const ma_analysis *a, const ma_event *e, const ma_thread_stats *t)
{
	const ma_filter *f = &a->priv->filter;
	if (f->tid && e->tid != f->tid)
		return 0;
	if (f->thread_name && !(t && t->selected))
		return 0;
	if (e->size < f->min_size)
		return 0;
	return e->time_ns >= f->from_ns && (!f->to_ns || e->time_ns <= f->to_ns);
}

/* An allocation the filter did not select: remembered, never counted. */
static void exclude_alloc(ma_analysis *a, const ma_event *e)
{
	struct ma_analysis_priv *p = a->priv;
	if (!e->addr)
		return;
	if (e->kind == MEMATTACH__EVENT_KIND__MMAP || e->kind == MEMATTACH__EVENT_KIND__MREMAP) {
		map_block(a, e, EXCLUDED);
		return;
	}
	block *old = live_find(&p->live, e->addr);
	if (old) {
		if (old->stack != EXCLUDED) {
			a->implicit_frees++;
			drop_block(a, old->stack, weigh_block(a, old));
		}
		old->size = e->size;
		old->stack = EXCLUDED;
		old->kind = (uint16_t)e->kind;
		old->up = 0;
		return;
	}
	block b = { e->addr, e->size, EXCLUDED, (uint16_t)e->kind, 0 };
	if (live_insert(&p->live, &b) < 0)
		p->oom = 1;
}

static inline void count_kind(ma_analysis *a, uint32_t kind, ma_count w, ma_thread_stats *t)
{
	if (kind < MA_KINDS) {
		a->kinds[kind].count += w.count;
		a->kinds[kind].bytes += w.bytes;
	}
	if (t && !ma_kind_is_alloc(kind))
		t->frees += w.count;
}

/* A block freed by its thread before that thread's next allocation. */
static void count_temporary(ma_analysis *a, const block *b)
{
	ma_stack_stats *s = &a->stacks[entry_of(a, b->stack)];
	ma_count w = weigh_block(a, b);
	s->temporary.count += w.count;
	s->temporary.bytes += w.bytes;
	a->temporary_allocations += w.count;
	a->temporary_bytes += w.bytes;
}

void ma_analysis_event(ma_analysis *a, const ma_event *e)
{
	struct ma_analysis_priv *p = a->priv;
	uint32_t kind = e->kind;
	a->last_seq = e->seq;
	a->last_time_ns = e->time_ns;
	ma_thread_stats *t = thread_of(a, e->tid);
	if (ma_kind_is_alloc(kind)) {
		if (p->filtering && !selected(a, e, t)) {
			exclude_alloc(a, e);
			return;
		}
		int up = a->sample_interval ? ma_sample_round_up(a->sample_interval, e->size, e->seq) : 0;
		ma_count w = weigh(a, kind, e->size, up);
		count_kind(a, kind, w, t);
		if (!e->addr) {
			a->null_allocations++;
			return;
		}
		uint32_t st = stack_index(a, e->stack);
		if (st != UINT32_MAX && p->by_thread && e->tid)
			st = thread_entry(a, st, e->tid);
		if (st == UINT32_MAX)
			return;
		a->total_allocations += w.count;
		a->total_bytes_allocated += w.bytes;
		a->hist[ma_hist_bucket(e->size)].count += w.count;
		a->hist[ma_hist_bucket(e->size)].bytes += w.bytes;
		a->stacks[st].alloc.count += w.count;
		a->stacks[st].alloc.bytes += w.bytes;
		if (t) {
			t->alloc.count += w.count;
			t->alloc.bytes += w.bytes;
			t->last_alloc = kind == MEMATTACH__EVENT_KIND__MMAP || kind == MEMATTACH__EVENT_KIND__MREMAP
						? 0 : e->addr;
		}
		if (kind == MEMATTACH__EVENT_KIND__MMAP || kind == MEMATTACH__EVENT_KIND__MREMAP) {
			map_block(a, e, st);
		} else {
			block *old = live_find(&p->live, e->addr);
			if (old) {
				/* Its free was never seen: it is gone now. */
				if (old->stack != EXCLUDED) {
					a->implicit_frees++;
					drop_block(a, old->stack, weigh_block(a, old));
				}
				old->size = e->size;
				old->stack = into_cell(a, st, w);
				old->kind = (uint16_t)kind;
				old->up = (uint16_t)up;
			} else {
				block b = { e->addr, e->size, into_cell(a, st, w), (uint16_t)kind, (uint16_t)up };
				if (live_insert(&p->live, &b) < 0) {
					p->oom = 1;
					return;
				}
			}
			add_block(a, st, w);
		}
		check_peak(a, e);
		return;
	}
	if (kind == MEMATTACH__EVENT_KIND__MUNMAP || kind == MEMATTACH__EVENT_KIND__MREMAP_FREE) {
		uint64_t hi = e->addr + e->size < e->addr ? UINT64_MAX : e->addr + e->size;
		int any = 0;
		uint64_t counted = unmap_range(a, e->addr, hi, &any);
		/* Unmapping what was never tracked is ignored, not counted. */
		if (counted)
			count_kind(a, kind, (ma_count){ 1, e->size }, t);
		if (!any)
			a->ignored_unmaps++;
		return;
	}
	block *b = e->addr ? live_find(&p->live, e->addr) : NULL;
	if (!b) {
		count_kind(a, kind, (ma_count){ 1, e->size }, t);
		a->untracked_frees++;
		return;
	}
	if (b->stack != EXCLUDED) {
		ma_count w = weigh_block(a, b);
		count_kind(a, kind, (ma_count){ w.count, e->size }, t);
		if (t && t->last_alloc == e->addr)
			count_temporary(a, b);
		drop_block(a, b->stack, w);
	}
	if (t && t->last_alloc == e->addr)
		t->last_alloc = 0;
	live_remove(&p->live, b);
}

/* Random addresses make the live table a cache miss per event: fetch the
 * slot of an event a few places ahead while applying this one. */
#define AHEAD 12

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	ma_analysis *a = ctx;
	const live_table *l = &a->priv->live;
	uint64_t freeze_at = a->priv->freeze_at;
	if (a->frozen)
		return;
	for (size_t i = 0; i < n && i < AHEAD; i++)
		__builtin_prefetch(&l->t[live_home(l, e[i].addr)]);
	for (size_t i = 0; i < n; i++) {
		if (i + AHEAD < n)
			__builtin_prefetch(&l->t[live_home(l, e[i + AHEAD].addr)]);
		ma_analysis_event(a, &e[i]);
		if (a->live_bytes >= freeze_at) {
			a->frozen = 1;
			return;
		}
	}
	struct ma_analysis_priv *p = a->priv;
	if (p->progress && p->reader && (++p->progress_n & 63) == 0)
		p->progress(p->progress_ctx, ma_capture_reader_progress(p->reader),
			    ma_capture_reader_size(p->reader));
}

void ma_analysis_freeze_at(ma_analysis *a, uint64_t live_bytes)
{
	a->priv->freeze_at = live_bytes;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? strdup(s) : NULL;
}

/* Ids from memattach's side; names an agent without /proc could not read. */
static void on_target_ids(void *ctx, const Memattach__TargetIds *t)
{
	ma_analysis *a = ctx;
	size_t n = t->n_tid < t->n_tid_in_namespace ? t->n_tid : t->n_tid_in_namespace;
	for (size_t i = 0; i < n; i++)
		if (t->tid[i] != UINT32_MAX && ma_u64map_put(&a->host_tids, t->tid_in_namespace[i], t->tid[i]) < 0)
			break;   /* out of memory: those threads keep their own ids only */
	if (!t->pid || a->pid_in_namespace)
		return;
	a->pid = t->pid;
	a->pid_in_namespace = t->pid_in_namespace ? t->pid_in_namespace : t->pid;
	if (!a->comm)
		a->comm = dup_or_null(t->comm);
	if (!a->command_line)
		a->command_line = dup_or_null(t->command_line);
	if (!a->executable)
		a->executable = dup_or_null(t->executable);
}

uint32_t ma_analysis_host_tid(const struct ma_analysis *a, uint32_t tid)
{
	uint32_t v = a->host_tids.keys ? ma_u64map_get(&a->host_tids, tid) : UINT32_MAX;
	return v == UINT32_MAX ? 0 : v;
}

static void on_header(void *ctx, const Memattach__Header *h)
{
	ma_analysis *a = ctx;
	if (a->has_header)
		return;         /* a second session in one file keeps the first's facts */
	a->has_header = 1;
	a->format_major = h->format_major;
	a->format_minor = h->format_minor;
	if (!a->pid_in_namespace)
		a->pid = h->pid;
	a->native_depth = h->native_depth;
	a->command_line = dup_or_null(h->command_line);
	a->comm = dup_or_null(h->comm);
	a->executable = dup_or_null(h->executable);
	a->hostname = dup_or_null(h->hostname);
	a->agent_version = dup_or_null(h->agent_version);
	a->start_realtime_ns = h->start_realtime_ns;
	a->first_seq = h->first_seq;
	a->rss_at_start = h->rss_at_start;
	a->start_call_ns = h->start_call_ns;
	a->start_call_cpu_ns = h->start_call_cpu_ns;
	a->attached = h->attached;
	a->sample_interval = h->sample_interval;
	a->sample_seed = h->sample_seed;
}

static void on_stack(void *ctx, const Memattach__Stack *s)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	uint32_t idx = stack_index(a, s->id);
	if (idx == UINT32_MAX || a->stacks[idx].nframes || !s->n_frames ||
	    over_limit(p, p->nframes + s->n_frames, MA_MAX_FRAMES_TOTAL + 1, "stack frames in all"))
		return;
	void *g = grow_array(p->frame_pool, &p->cap_frames, p->nframes + s->n_frames, sizeof *p->frame_pool);
	if (!g) {
		p->oom = 1;
		return;
	}
	p->frame_pool = g;
	memcpy(p->frame_pool + p->nframes, s->frames, s->n_frames * sizeof *s->frames);
	p->frame_off[idx] = p->nframes;
	a->stacks[idx].nframes = (uint32_t)s->n_frames;
	p->nframes += s->n_frames;
}

static void on_pyframe(void *ctx, const Memattach__PythonFrame *f)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	ADD_KEYED(p, &p->pyf, f->id, a->pyframes, p->cap_pyf, a->npyframes);
	a->pyframes[a->npyframes++] = (ma_pyframe){ f->id, dup_or_null(f->function),
						     dup_or_null(f->file), f->line };
}

static void on_thread(void *ctx, const Memattach__ThreadInfo *ti)
{
	ma_analysis *a = ctx;
	ma_thread_stats *t = thread_of(a, ti->tid);
	if (t && ti->name && *ti->name) {
		free(t->name);
		t->name = strdup(ti->name);
	}
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

/* Folds snapshot `old` into the next one `nw` (nw's values win). */
static int merge_snapshot(ma_snapshot *old, ma_snapshot *nw)
{
	ma_snap_entry *m = malloc((old->nchanged + nw->nchanged + 1) * sizeof *m);
	if (!m)
		return -1;
	size_t i = 0, j = 0, k = 0;
	while (i < old->nchanged || j < nw->nchanged) {
		if (j >= nw->nchanged || (i < old->nchanged && old->changed[i].stack < nw->changed[j].stack))
			m[k++] = old->changed[i++];
		else {
			if (i < old->nchanged && old->changed[i].stack == nw->changed[j].stack)
				i++;
			m[k++] = nw->changed[j++];
		}
	}
	free(old->changed);
	free(nw->changed);
	old->changed = NULL;
	nw->changed = m;
	nw->nchanged = k;
	return 0;
}

/* Halves the snapshots: every other one is merged into its successor. */
static void thin_snapshots(ma_analysis *a)
{
	struct ma_analysis_priv *p = a->priv;
	size_t n = a->nsnapshots, k = 0;
	for (size_t j = 0; j < n; j++) {
		if (j % 2 == 0 && j + 1 < n) {
			if (merge_snapshot(&a->snapshots[j], &a->snapshots[j + 1]) < 0) {
				p->oom = 1;
				return;
			}
			continue;
		}
		a->snapshots[k++] = a->snapshots[j];
	}
	a->nsnapshots = k;
	if (k >= 2)
		p->snap_interval = (a->snapshots[k - 1].time_ns - a->snapshots[0].time_ns) / (k - 1);
}

static void take_snapshot(ma_analysis *a, uint64_t time_ns)
{
	struct ma_analysis_priv *p = a->priv;
	if (a->nsnapshots >= p->snap_max) {
		size_t n = a->nsnapshots;
		thin_snapshots(a);
		if (p->range)
			range_thinned(a, (uint32_t)n, (uint32_t)a->nsnapshots);
	}
	void *g = grow_array(a->snapshots, &p->cap_snaps, a->nsnapshots + 1, sizeof *a->snapshots);
	ma_snap_entry *ch = malloc((p->ndirty + 1) * sizeof *ch);
	if (!g || !ch) {
		if (g)
			a->snapshots = g;
		free(ch);
		p->oom = 1;
		return;
	}
	a->snapshots = g;
	if (p->ndirty > 1)
		qsort(p->dirty, p->ndirty, sizeof *p->dirty, cmp_u32);
	for (size_t i = 0; i < p->ndirty; i++)
		ch[i] = (ma_snap_entry){ p->dirty[i], a->stacks[p->dirty[i]].live };
	a->snapshots[a->nsnapshots++] = (ma_snapshot){ time_ns, a->last_seq, a->live_bytes,
						       a->live_blocks, ch, p->ndirty };
	p->ndirty = 0;
	p->snap_gen++;
	p->snap_due = time_ns + p->snap_interval;
	if (p->range)
		p->range->open = (uint32_t)a->nsnapshots;
}

static void on_tick(void *ctx, const Memattach__Tick *tk)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	p->last_tick_ns = tk->time_ns;
	if (p->snap_max && (!a->nsnapshots || tk->time_ns >= p->snap_due))
		take_snapshot(a, tk->time_ns);
	void *g = grow_array(a->samples, &p->cap_samples, a->nsamples + 1, sizeof *a->samples);
	if (!g) {
		p->oom = 1;
		return;
	}
	a->samples = g;
	a->samples[a->nsamples++] = (ma_sample){ tk->time_ns, tk->rss_bytes, a->live_bytes, a->live_blocks };
}

static void on_agent_trailer(void *ctx, const Memattach__AgentTrailer *t)
{
	ma_analysis *a = ctx;
	a->has_agent_trailer = 1;
	a->stop_reason = t->reason;
	a->dropped_events += t->dropped_events;
	if (t->time_ns > a->duration_ns)
		a->duration_ns = t->time_ns;
}

static void on_events_lost(void *ctx, const Memattach__EventsLost *l)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	ma_thread_stats *t = thread_of(a, l->tid);
	if ((p->filter.tid && l->tid != p->filter.tid) ||
	    (p->filter.thread_name && !(t && t->selected)))
		return;
	if (!l->allocations && !l->frees)
		return;
	if (!ma_analysis_lost(a) || l->first_time_ns < a->lost_first_ns)
		a->lost_first_ns = l->first_time_ns;
	if (l->last_time_ns > a->lost_last_ns)
		a->lost_last_ns = l->last_time_ns;
	a->lost_alloc.count += l->allocations;
	a->lost_alloc.bytes += l->allocation_bytes;
	a->lost_free.count += l->frees;
	a->lost_free.bytes += l->free_bytes;
	a->lost_windows++;
	if (t) {
		t->lost_alloc.count += l->allocations;
		t->lost_alloc.bytes += l->allocation_bytes;
		t->lost_frees += l->frees;
	}
}

/* --sample: a thread's exact counts, cumulative; its last record holds.
 * Filtered like EventsLost (by thread only). */
static void on_thread_counts(void *ctx, const Memattach__ThreadCounts *c)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	ma_thread_stats *t = thread_of(a, c->tid);
	if (!t || (p->filter.tid && c->tid != p->filter.tid) ||
	    (p->filter.thread_name && !t->selected))
		return;
	a->exact_alloc.count += c->allocations - t->exact_alloc.count;
	a->exact_alloc.bytes += c->allocation_bytes - t->exact_alloc.bytes;
	a->exact_frees += c->frees - t->exact_frees;
	a->sample_count += c->samples - t->sample_count;
	a->samples_refused += c->samples_refused - t->samples_refused;
	t->exact_alloc.count = c->allocations;
	t->exact_alloc.bytes = c->allocation_bytes;
	t->exact_frees = c->frees;
	t->sample_count = c->samples;
	t->samples_refused = c->samples_refused;
}

static void on_symbol(void *ctx, const Memattach__Symbol *s)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	ADD_KEYED(p, &p->syms, s->address, a->symbols, p->cap_syms, a->nsymbols);
	ma_symbol *sym = &a->symbols[a->nsymbols++];
	*sym = (ma_symbol){ s->address, dup_or_null(s->function),
			    dup_or_null(s->file), dup_or_null(s->module),
			    s->module_offset, s->line, NULL, 0 };
	if (s->n_inlined && (sym->inlined = calloc(s->n_inlined, sizeof *sym->inlined))) {
		for (size_t k = 0; k < s->n_inlined; k++)
			sym->inlined[k] = (ma_inlined){ dup_or_null(s->inlined[k]->function),
							dup_or_null(s->inlined[k]->file),
							s->inlined[k]->line };
		sym->ninlined = (uint32_t)s->n_inlined;
	} else if (s->n_inlined) {
		p->oom = 1;
	}
}

static void on_module(void *ctx, const Memattach__Module *m)
{
	ma_analysis *a = ctx;
	struct ma_analysis_priv *p = a->priv;
	for (size_t i = 0; i < a->nmodules; i++)
		if (a->modules[i].load_address == m->load_address && a->modules[i].path && m->path &&
		    !strcmp(a->modules[i].path, m->path))
			return;
	if (over_limit(p, a->nmodules, MA_MAX_MODULES, "distinct modules"))
		return;
	void *g = grow_array(a->modules, &p->cap_modules, a->nmodules + 1, sizeof *a->modules);
	if (!g) {
		p->oom = 1;
		return;
	}
	a->modules = g;
	ma_module mod = { dup_or_null(m->path), NULL, m->load_address, UINT64_MAX, 0, 0 };
	for (size_t i = 0; i < m->n_segments; i++) {
		if (m->segments[i]->start < mod.start) {
			mod.start = m->segments[i]->start;
			mod.file_offset = m->segments[i]->file_offset;
		}
		if (m->segments[i]->end > mod.end)
			mod.end = m->segments[i]->end;
	}
	if (!m->n_segments)
		mod.start = mod.end = m->load_address;
	if (m->build_id.len) {
		mod.build_id = malloc(m->build_id.len * 2 + 1);
		for (size_t i = 0; mod.build_id && i < m->build_id.len; i++)
			snprintf(mod.build_id + 2 * i, 3, "%02x", m->build_id.data[i]);
	}
	a->modules[a->nmodules++] = mod;
}

const ma_module *ma_analysis_module(const ma_analysis *a, uint64_t address)
{
	for (size_t i = 0; i < a->nmodules; i++)
		if (address >= a->modules[i].start && address < a->modules[i].end)
			return &a->modules[i];
	return NULL;
}

static void on_capture_trailer(void *ctx, const Memattach__CaptureTrailer *t)
{
	ma_analysis *a = ctx;
	a->has_capture_trailer = 1;
	a->complete = t->complete;
	free(a->note);
	a->note = dup_or_null(t->note);
}

/* Each text once (a later session repeats the warnings that still hold),
 * and a bounded number of them. */
static void on_warning(void *ctx, const Memattach__Warning *w)
{
	ma_analysis *a = ctx;
	if (!w->text || a->nwarnings >= 64)
		return;
	for (size_t i = 0; i < a->nwarnings; i++)
		if (!strcmp(a->warnings[i], w->text))
			return;
	char **g = realloc(a->warnings, (a->nwarnings + 1) * sizeof *g);
	char *t = strdup(w->text);
	if (g)
		a->warnings = g;
	if (!g || !t) {
		free(t);
		a->priv->oom = 1;
		return;
	}
	a->warnings[a->nwarnings++] = t;
}

const ma_replay_ops ma_analysis_ops = {
	.header = on_header,
	.target_ids = on_target_ids,
	.events = on_events,
	.stack = on_stack,
	.python_frame = on_pyframe,
	.thread = on_thread,
	.tick = on_tick,
	.agent_trailer = on_agent_trailer,
	.symbol = on_symbol,
	.capture_trailer = on_capture_trailer,
	.module = on_module,
	.events_lost = on_events_lost,
	.warning = on_warning,
	.thread_counts = on_thread_counts,
};

void ma_analysis_set_filter(ma_analysis *a, const ma_filter *f)
{
	struct ma_analysis_priv *p = a->priv;
	p->filter = *f;
	free(p->thread_name);
	p->thread_name = f->thread_name ? strdup(f->thread_name) : NULL;
	p->filter.thread_name = p->thread_name;
	if (f->thread_name && !p->thread_name)
		p->oom = 1;
	p->filtering = f->tid || f->thread_name || f->min_size || f->from_ns || f->to_ns;
	a->filtered = p->filtering;
}

int ma_analysis_want_snapshots(ma_analysis *a, unsigned max)
{
	struct ma_analysis_priv *p = a->priv;
	p->snap_max = max < 2 ? 2 : max;
	if (!p->snap_gen)
		p->snap_gen = 1;
	return 0;
}

void ma_analysis_track_changes(ma_analysis *a)
{
	if (!a->priv->snap_gen)
		a->priv->snap_gen = 1;
}

size_t ma_analysis_take_changes(ma_analysis *a, const uint32_t **idx)
{
	struct ma_analysis_priv *p = a->priv;
	size_t n = p->ndirty;
	*idx = p->dirty;
	p->ndirty = 0;
	p->snap_gen++;     /* every stack is clean again */
	return n;
}

void ma_analysis_stack_frames_now(ma_analysis *a, size_t i)
{
	struct ma_analysis_priv *p = a->priv;
	ma_stack_stats *s = &a->stacks[i];
	size_t base = i;
	if (s->tid) {           /* a thread's entry: its stack's frames */
		uint32_t b = stack_lookup(a, s->id);
		if (b == UINT32_MAX) {
			s->nframes = 0;
			s->frames = NULL;
			return;
		}
		base = b;
		s->nframes = a->stacks[b].nframes;
	}
	s->frames = s->nframes ? p->frame_pool + p->frame_off[base] : NULL;
}

void ma_analysis_want_range(ma_analysis *a)
{
	struct ma_analysis_priv *p = a->priv;
	if (!p->range)   /* none when out of memory: the page has no range */
		p->range = calloc(1, sizeof *p->range);
}

int ma_analysis_range(const ma_analysis *a, ma_range *out)
{
	memset(out, 0, sizeof *out);
	if (!a->priv->range || !a->nsnapshots)
		return 1;
	return range_result(a->priv->range, a, out);
}

void ma_range_free(ma_range *r)
{
	free(r->leaf), free(r->bucket), free(r->off), free(r->entry), free(r->live);
	memset(r, 0, sizeof *r);
}

void ma_analysis_split_by_thread(ma_analysis *a)
{
	a->priv->by_thread = 1;
}

void ma_snapshot_apply(const ma_snapshot *s, ma_count *live)
{
	for (size_t i = 0; i < s->nchanged; i++)
		live[s->changed[i].stack] = s->changed[i].live;
}

void ma_analysis_set_progress(ma_analysis *a, void (*cb)(void *ctx, uint64_t done, uint64_t total),
			      void *ctx)
{
	a->priv->progress = cb;
	a->priv->progress_ctx = ctx;
}

void ma_analysis_finish(ma_analysis *a)
{
	struct ma_analysis_priv *p = a->priv;
	uint64_t end = a->last_time_ns;
	if (a->replay.max_time_ns > end)
		end = a->replay.max_time_ns;
	if (p->last_tick_ns > end)
		end = p->last_tick_ns;
	/* the last snapshot is the end of the capture */
	if (p->snap_max && (p->ndirty || !a->nsnapshots || a->snapshots[a->nsnapshots - 1].time_ns < end))
		take_snapshot(a, end);
	p->snap_gen = 0;
	for (size_t i = 0; i < a->nstacks; i++) {
		ma_stack_stats *s = &a->stacks[i];
		/* unchanged since the last peak: live now = at peak */
		if (s->epoch != p->epoch) {
			s->at_peak = s->live;
			s->epoch = p->epoch;
		}
		s->snap_gen = 0;
		if (s->tid) {           /* a thread's entry: its stack's frames */
			uint32_t base = stack_lookup(a, s->id);
			s->nframes = base == UINT32_MAX ? 0 : a->stacks[base].nframes;
			s->frames = s->nframes ? p->frame_pool + p->frame_off[base] : NULL;
		} else {
			s->frames = s->nframes ? p->frame_pool + p->frame_off[i] : NULL;
		}
	}
	if (a->replay.max_time_ns > a->duration_ns)
		a->duration_ns = a->replay.max_time_ns;
	if (a->last_time_ns > a->duration_ns)
		a->duration_ns = a->last_time_ns;
}

/* A name filter selects the threads whose last name is the one asked for
 * (the name reports show), from their first allocation on: a name can
 * arrive after the thread's first events (Python's thread names come from
 * a later refresh, pthread_setname_np from the thread itself), so the
 * names are read first, in a pass that decodes only ThreadInfo records.
 * A capture this pass cannot read is the main pass's to report. */
void ma_analysis_prepare(ma_analysis *a, const char *path)
{
	struct ma_analysis_priv *p = a->priv;
	const char *want = p->filter.thread_name;
	char err[256];
	if (!want)
		return;
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	if (!r)
		return;
	ma_capture_reader_only(r, MEMATTACH__RECORD__R_THREAD);
	Memattach__Record *rec;
	while (ma_capture_reader_next(r, &rec) > 0) {
		const Memattach__ThreadInfo *ti = rec->thread;
		if (ti && ti->name && *ti->name) {
			uint32_t *v = ma_u64map_slot(&p->named, ti->tid);
			if (v)
				*v = !strcmp(ti->name, want);
			else
				p->oom = 1;
		}
		ma_capture_record_free(rec);
	}
	ma_capture_reader_close(r);
}

int ma_analysis_run(ma_analysis *a, const char *path, char *err, size_t errlen)
{
	memset(&a->replay, 0, sizeof a->replay);
	ma_analysis_prepare(a, path);
	ma_capture_reader *r = ma_capture_reader_open(path, err, errlen);
	if (!r)
		return -1;
	a->priv->reader = r;
	int rc = ma_replay_reader(r, &ma_analysis_ops, a, &a->replay, err, errlen);
	a->priv->reader = NULL;
	ma_capture_reader_close(r);
	ma_analysis_finish(a);
	if (rc == 0 && ma_analysis_limit_error(a, err, errlen)) {
		rc = MA_ERR_BAD_INPUT;
	} else if (rc == 0 && a->priv->oom) {
		snprintf(err, errlen, "out of memory analysing %s", path);
		rc = MA_ERR_NOMEM;
	}
	return rc;
}

const char *ma_analysis_limit_error(const ma_analysis *a, char *err, size_t errlen)
{
	const struct ma_analysis_priv *p = a->priv;
	if (!p->over)
		return NULL;
	snprintf(err, errlen, "the capture holds more than %u %s, more than memattach's agent ever sends: "
		 "the file is damaged or forged; use a capture memattach wrote", p->over_limit, p->over);
	return err;
}

const ma_symbol *ma_analysis_symbol(const ma_analysis *a, uint64_t address)
{
	uint32_t i = ma_u64map_get(&a->priv->syms, address);
	return i == UINT32_MAX ? NULL : &a->symbols[i];
}

const ma_pyframe *ma_analysis_pyframe(const ma_analysis *a, uint32_t id)
{
	uint32_t i = ma_u64map_get(&a->priv->pyf, id);
	return i == UINT32_MAX ? NULL : &a->pyframes[i];
}

const ma_stack_stats *ma_analysis_stack(const ma_analysis *a, uint32_t id)
{
	uint32_t i = stack_lookup(a, id);
	return i == UINT32_MAX ? NULL : &a->stacks[i];
}

unsigned ma_hist_bucket(uint64_t size)
{
	return size ? 64u - (unsigned)__builtin_clzll(size) : 0;
}

uint64_t ma_hist_min(unsigned b)
{
	return b ? 1ull << (b - 1) : 0;
}

uint64_t ma_hist_max(unsigned b)
{
	if (b == 0)
		return 0;
	return b >= 64 ? UINT64_MAX : (1ull << b) - 1;
}

const char *ma_analysis_frame_name(const ma_analysis *a, uint64_t frame, char *buf, size_t len)
{
	if (frame & MA_FRAME_PYTHON_BIT) {
		const ma_pyframe *f = ma_analysis_pyframe(a, (uint32_t)frame);
		if (f && f->function)
			snprintf(buf, len, "%s (%s:%u)", f->function, f->file ? f->file : "?", f->line);
		else
			snprintf(buf, len, "<python frame %u>", (uint32_t)frame);
		return buf;
	}
	const ma_symbol *s = ma_analysis_symbol(a, frame);
	size_t used = 0;
	for (uint32_t k = 0; s && k < s->ninlined && used < len; k++) {
		const ma_inlined *in = &s->inlined[k];
		int n = snprintf(buf + used, len - used, "%s (%s:%u) [inlined into] ",
				 in->function ? in->function : "??", in->file ? in->file : "?", in->line);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used >= len)
		return buf;
	buf += used;
	len -= used;
	if (s && s->function) {
		if (s->file)
			snprintf(buf, len, "%s (%s:%u)", s->function, s->file, s->line);
		else if (s->module)
			snprintf(buf, len, "%s (%s)", s->function, s->module);
		else
			snprintf(buf, len, "%s", s->function);
	} else if (s && s->module) {
		snprintf(buf, len, "0x%llx (%s+0x%llx)", (unsigned long long)frame, s->module,
			 (unsigned long long)s->module_offset);
	} else {
		snprintf(buf, len, "0x%llx", (unsigned long long)frame);
	}
	return buf - used;
}

size_t ma_analysis_frame_names(const ma_analysis *a, uint64_t frame,
			       void (*cb)(void *ctx, const ma_frame_part *p), void *ctx)
{
	ma_frame_part part = { 0 };
	if (frame & MA_FRAME_PYTHON_BIT) {
		const ma_pyframe *f = ma_analysis_pyframe(a, (uint32_t)frame);
		if (f) {
			part.function = f->function;
			part.file = f->file;
			part.line = f->line;
		}
		cb(ctx, &part);
		return 1;
	}
	const ma_symbol *s = ma_analysis_symbol(a, frame);
	if (!s) {
		cb(ctx, &part);
		return 1;
	}
	part.module = s->module;
	part.module_offset = s->module_offset;
	part.inlined = 1;
	for (uint32_t k = 0; k < s->ninlined; k++) {
		part.function = s->inlined[k].function;
		part.file = s->inlined[k].file;
		part.line = s->inlined[k].line;
		cb(ctx, &part);
	}
	part.inlined = 0;
	part.function = s->function;
	part.file = s->file;
	part.line = s->line;
	cb(ctx, &part);
	return (size_t)s->ninlined + 1;
}

/* ------------------------------------------------------- live set walk */

void ma_analysis_foreach_live(const ma_analysis *a,
			      void (*fn)(void *ctx, uint64_t addr, uint64_t size,
					 uint32_t stack_id, uint32_t kind),
			      void *ctx)
{
	const struct ma_analysis_priv *p = a->priv;
	for (size_t i = 0; i <= p->live.mask; i++) {
		const block *b = &p->live.t[i];
		if (b->addr && b->stack != EXCLUDED)
			fn(ctx, b->addr, b->size, a->stacks[entry_of(a, b->stack)].id, b->kind);
	}
	for (size_t i = 0; i < p->npieces; i++) {
		const piece *pc = &p->pieces[i];
		if (pc->stack != EXCLUDED)
			fn(ctx, pc->start, pc->end - pc->start, a->stacks[entry_of(a, pc->stack)].id, pc->kind);
	}
}

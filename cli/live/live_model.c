/* live_model.c — see live_model.h.  Each stack entry of the analysis
 * keeps its path of locations (computed once, when its frames are known)
 * and the live value last applied; a refresh adds the difference of each
 * changed entry to its own location and, once each, to every location on
 * its path.  The rows are kept in a max-heap on the sort key, so an
 * update is a log and the top N is read from the heap's first levels. */
#include <stdlib.h>
#include <string.h>
#include "cli/live/live_model.h"
#include "cli/util/u64map.h"
#include "record_io.h"
#include "cli/util/grow_array.h"

#define PATH_MAX_LOCS 1024
#define NO_POS SIZE_MAX

struct entry {
	uint32_t *path;          /* location ids, innermost first */
	uint32_t npath;
	int resolved;            /* path made from the stack's frames */
	int in_tree;             /* listed for the tree of v->tree_loc */
	int waiting;             /* in v->unresolved */
	ma_count applied;        /* live value last added to the locations */
	ma_count base;           /* at the first refresh */
};

struct loc {
	ma_loc l;
	uint32_t next;           /* next location with the same hash */
	ma_count own, total;
	uint64_t base_own;       /* own bytes at the first refresh */
	uint64_t prev_own;       /* own bytes at the previous refresh */
	uint64_t touched;        /* refresh number of its last change */
	uint64_t stamp;          /* counted once per path */
	size_t pos;              /* in the heap */
};

struct ma_lv {
	ma_analysis *a;
	ma_symbolizer *z;
	ma_report_opts opts;
	struct entry *e;
	size_t ne;
	struct loc *l;
	size_t nl, capl;
	ma_u64map by_hash;       /* location hash -> first location */
	uint32_t *heap;
	size_t nheap;
	uint32_t *touched, *prev_touched;
	size_t ntouched, nprev_touched, cap_touched, cap_prev;
	uint64_t refresh_no, stamp;
	uint32_t tid;
	enum ma_lv_sort sort;
	int started;
	ma_count live;           /* under the thread filter */
	uint32_t *unresolved;    /* entries with memory whose frames are not known yet */
	size_t nunresolved, cap_unresolved;
	uint32_t tree_loc;
	uint32_t *tree;          /* entries whose path holds tree_loc */
	size_t ntree, cap_tree;
	ma_loc scratch[PATH_MAX_LOCS];
};

/* ---- the heap of locations, biggest key first ---- */

static int64_t key(const ma_lv *v, uint32_t i)
{
	const struct loc *l = &v->l[i];
	switch (v->sort) {
	case MA_LV_TOTAL: return (int64_t)l->total.bytes;
	case MA_LV_BLOCKS: return (int64_t)l->own.count;
	case MA_LV_GROWTH: return l->touched == v->refresh_no ? (int64_t)(l->own.bytes - l->prev_own) : 0;
	default: return (int64_t)l->own.bytes;
	}
}

static int above(const ma_lv *v, uint32_t x, uint32_t y)
{
	int64_t kx = key(v, x), ky = key(v, y);
	return kx != ky ? kx > ky : x < y;
}

static void heap_set(ma_lv *v, size_t pos, uint32_t loc)
{
	v->heap[pos] = loc;
	v->l[loc].pos = pos;
}

static void sift_up(ma_lv *v, size_t pos)
{
	uint32_t x = v->heap[pos];
	while (pos > 0 && above(v, x, v->heap[(pos - 1) / 2])) {
		heap_set(v, pos, v->heap[(pos - 1) / 2]);
		pos = (pos - 1) / 2;
	}
	heap_set(v, pos, x);
}

static void sift_down(ma_lv *v, size_t pos)
{
	uint32_t x = v->heap[pos];
	for (;;) {
		size_t c = 2 * pos + 1;
		if (c >= v->nheap)
			break;
		if (c + 1 < v->nheap && above(v, v->heap[c + 1], v->heap[c]))
			c++;
		if (!above(v, v->heap[c], x))
			break;
		heap_set(v, pos, v->heap[c]);
		pos = c;
	}
	heap_set(v, pos, x);
}

static void heap_update(ma_lv *v, uint32_t loc)
{
	size_t pos = v->l[loc].pos;
	sift_up(v, pos);
	sift_down(v, v->l[loc].pos);
}

static void heap_rebuild(ma_lv *v)
{
	for (size_t i = v->nheap / 2; i-- > 0;)
		sift_down(v, i);
}

/* ---- locations ---- */

static uint32_t intern(ma_lv *v, const ma_loc *l)
{
	uint64_t h = ma_loc_hash(l, 1);
	uint32_t *slot = ma_u64map_slot(&v->by_hash, h);
	if (!slot)
		return 0;
	for (uint32_t i = *slot; i != UINT32_MAX; i = v->l[i].next)
		if (ma_loc_same(&v->l[i].l, l, 1))
			return i;
	size_t capl = v->capl;
	if (ma_grow_array((void **)&v->l, &v->capl, v->nl + 1, sizeof *v->l) < 0)
		return 0;
	if (v->capl != capl || !v->heap) {
		uint32_t *hp = realloc(v->heap, v->capl * sizeof *hp);
		if (!hp)
			return 0;
		v->heap = hp;
	}
	uint32_t i = (uint32_t)v->nl++;
	memset(&v->l[i], 0, sizeof v->l[i]);
	v->l[i].l = *l;
	v->l[i].next = *slot;
	*slot = i;
	heap_set(v, v->nheap++, i);
	sift_up(v, v->nheap - 1);
	return i;
}

/* Names for the native frames of a stack not named yet. */
static void name_frames(ma_lv *v, const ma_stack_stats *s)
{
	if (!v->z)
		return;
	for (uint32_t k = 0; k < s->nframes; k++) {
		uint64_t f = s->frames[k];
		if (!f || (f & MA_FRAME_PYTHON_BIT) || ma_analysis_symbol(v->a, f))
			continue;
		ma_symbolizer_lookup(v->z, f, (void (*)(void *, const Memattach__Symbol *))ma_analysis_ops.symbol,
				     v->a);
	}
}

static void resolve(ma_lv *v, size_t i)
{
	struct entry *e = &v->e[i];
	ma_analysis_stack_frames_now(v->a, i);
	ma_stack_stats *s = &v->a->stacks[i];
	if (!s->nframes)
		return;   /* its Stack record comes later: "(unknown)" meanwhile */
	name_frames(v, s);
	size_t n = ma_stack_view(v->a, s, &v->opts, v->scratch, PATH_MAX_LOCS);
	uint32_t *p = malloc((n ? n : 1) * sizeof *p);
	if (!p)
		return;
	for (size_t k = 0; k < n; k++)
		p[k] = intern(v, &v->scratch[k]);
	free(e->path);
	e->path = p;
	e->npath = (uint32_t)n;
	e->resolved = 1;
}

static void touch(ma_lv *v, uint32_t loc)
{
	struct loc *l = &v->l[loc];
	if (l->touched == v->refresh_no)
		return;
	l->touched = v->refresh_no;
	l->prev_own = l->own.bytes;
	if (ma_grow_array((void **)&v->touched, &v->cap_touched, v->ntouched + 1, sizeof *v->touched) == 0)
		v->touched[v->ntouched++] = loc;
}

/* Adds (sign 1) or takes away (-1) value c along e's path. */
static void apply(ma_lv *v, const struct entry *e, ma_count c, int sign)
{
	uint64_t b = sign > 0 ? c.bytes : -c.bytes, n = sign > 0 ? c.count : -c.count;
	uint32_t own = e->npath ? e->path[0] : 0;
	touch(v, own);
	v->l[own].own.bytes += b;
	v->l[own].own.count += n;
	v->live.bytes += b;
	v->live.count += n;
	v->stamp++;
	for (uint32_t k = 0; k < (e->npath ? e->npath : 1); k++) {
		struct loc *l = &v->l[e->npath ? e->path[k] : 0];
		if (l->stamp == v->stamp)
			continue;
		l->stamp = v->stamp;
		touch(v, (uint32_t)(l - v->l));
		l->total.bytes += b;
		l->total.count += n;
	}
}

static int in_filter(const ma_lv *v, size_t i)
{
	return !v->tid || v->a->stacks[i].tid == v->tid;
}

static int path_has(const struct entry *e, uint32_t loc)
{
	for (uint32_t k = 0; k < e->npath; k++)
		if (e->path[k] == loc)
			return 1;
	return 0;
}

static void list_in_tree(ma_lv *v, size_t i)
{
	struct entry *e = &v->e[i];
	if (e->in_tree || !path_has(e, v->tree_loc))
		return;
	if (ma_grow_array((void **)&v->tree, &v->cap_tree, v->ntree + 1, sizeof *v->tree) == 0) {
		v->tree[v->ntree++] = (uint32_t)i;
		e->in_tree = 1;
	}
}

/* An entry's path, once its frames are known; its value moves from
 * "(stack not known yet)" to it. */
static void try_resolve(ma_lv *v, size_t i)
{
	struct entry *e = &v->e[i];
	int in = in_filter(v, i) && (e->applied.bytes || e->applied.count);
	if (in)
		apply(v, e, e->applied, -1);
	resolve(v, i);
	if (in)
		apply(v, e, e->applied, 1);
	if (!e->resolved && !e->waiting &&
	    ma_grow_array((void **)&v->unresolved, &v->cap_unresolved, v->nunresolved + 1, sizeof *v->unresolved) == 0) {
		v->unresolved[v->nunresolved++] = (uint32_t)i;
		e->waiting = 1;
	}
}

/* Entries waiting for their Stack record (the agent sends stacks before
 * the events that use them: normally none). */
static void retry_unresolved(ma_lv *v)
{
	size_t k = 0;
	for (size_t j = 0; j < v->nunresolved; j++) {
		uint32_t i = v->unresolved[j];
		try_resolve(v, i);   /* waiting: not listed again */
		if (v->e[i].resolved)
			v->e[i].waiting = 0;
		else
			v->unresolved[k++] = i;
	}
	v->nunresolved = k;
}

/* One changed entry: its path if new, then the difference. */
static void take_change(ma_lv *v, size_t i)
{
	struct entry *e = &v->e[i];
	int in = in_filter(v, i);
	if (!e->resolved)
		try_resolve(v, i);
	ma_count now = v->a->stacks[i].live;
	ma_count d = { now.count - e->applied.count, now.bytes - e->applied.bytes };
	e->applied = now;
	if (in && (d.bytes || d.count))
		apply(v, e, d, 1);
	if (v->tree_loc != UINT32_MAX)
		list_in_tree(v, i);
}

/* ---- the model ---- */

ma_lv *ma_lv_new(ma_analysis *a, ma_symbolizer *z)
{
	ma_lv *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->a = a;
	v->z = z;
	v->tree_loc = UINT32_MAX;
	ma_report_opts_init(&v->opts);
	ma_loc unknown = { 0 };
	intern(v, &unknown);   /* location 0: stacks not known yet */
	v->refresh_no = 1;
	return v;
}

void ma_lv_free(ma_lv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->ne; i++)
		free(v->e[i].path);
	free(v->e);
	free(v->l);
	free(v->heap);
	free(v->touched);
	free(v->prev_touched);
	free(v->tree);
	free(v->unresolved);
	ma_u64map_free(&v->by_hash);
	ma_report_opts_free(&v->opts);
	free(v);
}

static int cover_entries(ma_lv *v)
{
	size_t n = v->a->nstacks, cap = v->ne;
	if (n <= v->ne)
		return 0;
	if (ma_grow_array((void **)&v->e, &cap, n, sizeof *v->e) < 0)
		return -1;
	memset(v->e + v->ne, 0, (cap - v->ne) * sizeof *v->e);
	v->ne = cap;
	return 0;
}

/* The first refresh is the start of "since start". */
static void mark_start(ma_lv *v)
{
	v->started = 1;
	for (size_t i = 0; i < v->ne; i++)
		v->e[i].base = v->e[i].applied;
	for (size_t i = 0; i < v->nl; i++)
		v->l[i].base_own = v->l[i].own.bytes;
}

void ma_lv_refresh(ma_lv *v)
{
	const uint32_t *idx;
	uint32_t *t;
	size_t nt;
	v->refresh_no++;
	/* last refresh's changes: their growth since the previous is now 0 */
	t = v->prev_touched, v->prev_touched = v->touched, v->touched = t;
	nt = v->cap_prev, v->cap_prev = v->cap_touched, v->cap_touched = nt;
	v->nprev_touched = v->ntouched;
	v->ntouched = 0;
	size_t n = ma_analysis_take_changes(v->a, &idx);
	if (cover_entries(v) < 0)
		return;
	retry_unresolved(v);
	for (size_t k = 0; k < n; k++)
		take_change(v, idx[k]);
	for (size_t k = 0; k < v->ntouched; k++)
		heap_update(v, v->touched[k]);
	for (size_t k = 0; k < v->nprev_touched; k++)
		heap_update(v, v->prev_touched[k]);
	if (!v->started)
		mark_start(v);
}

void ma_lv_set_thread(ma_lv *v, uint32_t tid)
{
	v->tid = tid;
	for (size_t i = 0; i < v->nl; i++) {
		v->l[i].own = v->l[i].total = (ma_count){ 0, 0 };
		v->l[i].base_own = 0;
	}
	v->live = (ma_count){ 0, 0 };
	v->refresh_no++;
	for (size_t i = 0; i < v->ne; i++) {
		struct entry *e = &v->e[i];
		if (i >= v->a->nstacks || !in_filter(v, i))
			continue;
		if (e->applied.bytes || e->applied.count)
			apply(v, e, e->applied, 1);
		if (e->base.bytes)
			v->l[e->npath ? e->path[0] : 0].base_own += e->base.bytes;
	}
	v->ntouched = 0;
	v->refresh_no++;   /* no growth since the previous refresh */
	heap_rebuild(v);
}

void ma_lv_set_sort(ma_lv *v, enum ma_lv_sort s)
{
	v->sort = s;
	heap_rebuild(v);
}

static void row_of(const ma_lv *v, uint32_t i, ma_lv_row *r)
{
	const struct loc *l = &v->l[i];
	r->loc = i;
	r->own = l->own;
	r->total = l->total;
	r->since_prev = l->touched == v->refresh_no ? (int64_t)(l->own.bytes - l->prev_own) : 0;
	r->since_start = (int64_t)(l->own.bytes - l->base_own);
}

size_t ma_lv_top(ma_lv *v, ma_lv_row *out, size_t max)
{
	/* the heap's top max: a frontier of heap positions, best first */
	size_t *fr = malloc((2 * max + 2) * sizeof *fr), nf = 0, n = 0;
	if (!fr)
		return 0;
	if (v->nheap)
		fr[nf++] = 0;
	while (nf && n < max) {
		size_t best = 0;
		for (size_t k = 1; k < nf; k++)
			if (above(v, v->heap[fr[k]], v->heap[fr[best]]))
				best = k;
		size_t pos = fr[best];
		fr[best] = fr[--nf];
		uint32_t loc = v->heap[pos];
		if (key(v, loc) <= 0)
			break;   /* the rest is no bigger */
		row_of(v, loc, &out[n++]);
		for (size_t c = 2 * pos + 1; c <= 2 * pos + 2 && c < v->nheap; c++)
			fr[nf++] = c;
	}
	free(fr);
	return n;
}

size_t ma_lv_nlocs(const ma_lv *v)
{
	return v->nl;
}

const ma_loc *ma_lv_loc(const ma_lv *v, uint32_t loc)
{
	return &v->l[loc].l;
}

ma_count ma_lv_live(const ma_lv *v)
{
	return v->live;
}

/* ---- the call tree of one location ---- */

struct tnode {
	uint32_t loc, parent, child, sibling, depth;
	ma_count live;
};

struct tree {
	struct tnode *n;
	size_t nn, cap;
};

static uint32_t tree_child(struct tree *t, uint32_t parent, uint32_t loc)
{
	for (uint32_t c = t->n[parent].child; c != UINT32_MAX; c = t->n[c].sibling)
		if (t->n[c].loc == loc)
			return c;
	if (ma_grow_array((void **)&t->n, &t->cap, t->nn + 1, sizeof *t->n) < 0)
		return UINT32_MAX;
	uint32_t c = (uint32_t)t->nn++;
	t->n[c] = (struct tnode){ loc, parent, UINT32_MAX, t->n[parent].child, t->n[parent].depth + 1, { 0, 0 } };
	t->n[parent].child = c;
	return c;
}

/* Adds one entry's live value along its path, outermost first. */
static void tree_add(struct tree *t, const struct entry *e)
{
	uint32_t at = 0;
	t->n[0].live.bytes += e->applied.bytes;
	t->n[0].live.count += e->applied.count;
	for (uint32_t k = e->npath; k-- > 0;) {
		at = tree_child(t, at, e->path[k]);
		if (at == UINT32_MAX)
			return;
		t->n[at].live.bytes += e->applied.bytes;
		t->n[at].live.count += e->applied.count;
	}
}

/* Preorder, biggest child first (a selection per level: trees are small). */
static void tree_emit(const struct tree *t, uint32_t node, ma_lv_node *out, size_t *n, size_t max)
{
	if (*n >= max)
		return;
	if (node)
		out[(*n)++] = (ma_lv_node){ t->n[node].loc, t->n[node].depth - 1, t->n[node].live };
	uint64_t below = UINT64_MAX;
	uint32_t last = UINT32_MAX;
	for (;;) {
		uint32_t best = UINT32_MAX;
		for (uint32_t c = t->n[node].child; c != UINT32_MAX; c = t->n[c].sibling) {
			uint64_t b = t->n[c].live.bytes;
			int after_last = b < below || (b == below && c > last);
			if (after_last && (best == UINT32_MAX || b > t->n[best].live.bytes ||
					   (b == t->n[best].live.bytes && c < best)))
				best = c;
		}
		if (best == UINT32_MAX || *n >= max)
			return;
		tree_emit(t, best, out, n, max);
		below = t->n[best].live.bytes;
		last = best;
	}
}

size_t ma_lv_tree(ma_lv *v, uint32_t loc, ma_lv_node *out, size_t max)
{
	if (loc != v->tree_loc) {
		for (size_t k = 0; k < v->ntree; k++)
			v->e[v->tree[k]].in_tree = 0;
		v->ntree = 0;
		v->tree_loc = loc;
		for (size_t i = 0; i < v->ne && i < v->a->nstacks; i++)
			list_in_tree(v, i);
	}
	struct tree t = { NULL, 0, 0 };
	if (ma_grow_array((void **)&t.n, &t.cap, 1, sizeof *t.n) < 0)
		return 0;
	t.n[t.nn++] = (struct tnode){ 0, UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, { 0, 0 } };
	for (size_t k = 0; k < v->ntree; k++) {
		const struct entry *e = &v->e[v->tree[k]];
		if (in_filter(v, v->tree[k]) && e->applied.bytes)
			tree_add(&t, e);
	}
	size_t n = 0;
	tree_emit(&t, 0, out, &n, max);
	free(t.n);
	return n;
}

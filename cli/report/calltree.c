/* calltree.c — how the call-stack reports see a stack (which frames,
 * named how) and the merged call tree they all draw from. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "record_io.h"
#include "cli/report/report.h"
#include "cli/util/hash.h"

#define VIEW_MAX 4096

/* The locations of one native frame, innermost first. */
struct locs_out {
	ma_loc *out;
	size_t n, max;
	uint64_t frame;
};

static void add_part(void *ctx, const ma_frame_part *p)
{
	struct locs_out *o = ctx;
	if (o->n >= o->max)
		return;
	o->out[o->n++] = (ma_loc){
		.frame = o->frame, .function = p->function, .file = p->file, .line = p->line,
		.module = p->module, .module_offset = p->module_offset, .inlined = p->inlined,
	};
}

/* One native frame: its inlined calls (innermost first), then the real
 * function — each a location of its own. */
static size_t native_locs(const ma_analysis *a, uint64_t frame, ma_loc *out, size_t max)
{
	struct locs_out o = { out, 0, max, frame };
	if (!max)
		return 0;
	ma_analysis_frame_names(a, frame, add_part, &o);
	if (o.n == 0)
		out[o.n++] = (ma_loc){ .frame = frame };
	return o.n;
}

static size_t python_loc(const ma_analysis *a, uint64_t frame, ma_loc *out)
{
	const ma_pyframe *f = ma_analysis_pyframe(a, (uint32_t)frame);
	*out = (ma_loc){ .frame = frame, .python = 1 };
	if (f) {
		out->function = f->function;
		out->file = f->file;
		out->line = f->line;
	}
	return 1;
}

/* Functions that only pass an allocation on: the memory is their
 * caller's.  Whole names (POSIX extended regular expressions). */
static const char default_wrappers[] =
	"^("
	"z(try)?(malloc|calloc|realloc)(_usable|_with_flags)?|zstrdup|zmalloc_no_tcache|"   /* redis */
	"g_(try_)?(malloc|malloc0|realloc)(_n)?|g_slice_alloc0?|g_memdup2?|g_strn?dup|"    /* glib */
	"palloc0?|palloc_extended|repalloc|MemoryContextAlloc(Zero|ZeroAligned|Extended)?|" /* PostgreSQL */
	"pstrdup|pnstrdup|AllocSetAlloc|AllocSetRealloc|GenerationAlloc|SlabAlloc|"
	"sqlite3(Malloc|MallocZero|DbMalloc(Raw|Zero|RawNN)?|Realloc|DbRealloc|MemMalloc|"  /* sqlite */
	"MemRealloc|_malloc|_malloc64|_realloc|_realloc64)|"
	"x(malloc|calloc|realloc|zalloc|strdup|strndup|memdup)|"                          /* libiberty, git, ... */
	"(__)?strn?dup|__GI___strn?dup|"                                                   /* libc */
	"operator new(\\[\\])?(\\(.*\\))?|"                                             /* libstdc++ */
	"(std::|__gnu_cxx::)(__)?new_allocator<.*>::allocate(\\(.*\\))?|"
	"std::allocator_traits<.*>::allocate(\\(.*\\))?|"
	"Py(Mem|Object)_(Raw)?(Malloc|Calloc|Realloc)|_Py(Mem|Object)_(Raw)?(Malloc|Calloc|Realloc)|" /* CPython */
	"_PyMem_Raw(Malloc|Calloc|Realloc)|_PyMem_Debug.*|pymalloc_(alloc|realloc)|"
	"_PyObject_(Malloc|Calloc|Realloc)|_PyObject_GC_(Alloc|New|NewVar|Resize|Link)|gc_alloc|"
	"_PyObject_New(Var)?|PyType_GenericAlloc|_PyType_AllocNoTrack"
	")$";

int ma_loc_is_wrapper(const ma_loc *l, const ma_report_opts *o)
{
	static regex_t re;
	static int ready;   /* 1: compiled, -1: failed (then nothing is a wrapper) */
	if (!l->function || l->python)
		return 0;
	if (!ready)
		ready = regcomp(&re, default_wrappers, REG_EXTENDED | REG_NOSUB) == 0 ? 1 : -1;
	if (ready == 1 && regexec(&re, l->function, 0, NULL, 0) == 0)
		return 1;
	return o->wrappers && regexec(o->wrappers, l->function, 0, NULL, 0) == 0;
}

/* Leaves out the allocator wrappers at the inside of view[0..n) (never
 * the last location).  Returns the new count. */
static size_t fold_wrappers(ma_loc *view, size_t n, const ma_report_opts *o)
{
	size_t k = 0;
	while (k + 1 < n && ma_loc_is_wrapper(&view[k], o))
		k++;
	if (k)
		memmove(view, view + k, (n - k) * sizeof *view);
	return n - k;
}

size_t ma_stack_view(const ma_analysis *a, const ma_stack_stats *s, const ma_report_opts *o,
		     ma_loc *out, size_t max)
{
	int native = o->native;
	uint32_t inner_py = UINT32_MAX;   /* index of the innermost Python frame */
	if (!native)
		for (uint32_t i = 0; i < s->nframes; i++)
			if (s->frames[i] & MA_FRAME_PYTHON_BIT) {
				inner_py = i;
				break;
			}
	/* Native frames inside the innermost Python frame are kept, except
	 * the interpreter's own call machinery right under it
	 * (PyObject_Vectorcall and the like): frames of the module whose eval
	 * loop runs that Python frame — the first native frame outside it. */
	uint32_t keep = inner_py;   /* native frames [0, keep) are shown */
	if (inner_py != UINT32_MAX) {
		const ma_module *interp = NULL;
		for (uint32_t i = inner_py + 1; i < s->nframes && !interp; i++)
			if (!(s->frames[i] & MA_FRAME_PYTHON_BIT))
				interp = ma_analysis_module(a, s->frames[i]);
		while (interp && keep > 0 && !(s->frames[keep - 1] & MA_FRAME_PYTHON_BIT) &&
		       ma_analysis_module(a, s->frames[keep - 1]) == interp)
			keep--;
	}
	size_t n = 0;
	for (uint32_t i = 0; i < s->nframes && n < max; i++) {
		uint64_t f = s->frames[i];
		if (f & MA_FRAME_PYTHON_BIT)
			n += python_loc(a, f, out + n);
		else if (inner_py == UINT32_MAX || i < keep)
			n += native_locs(a, f, out + n, max - n);
	}
	return o->keep_wrappers ? n : fold_wrappers(out, n, o);
}

int ma_analysis_has_python(const ma_analysis *a)
{
	for (size_t i = 0; i < a->nstacks; i++)
		for (uint32_t k = 0; k < a->stacks[i].nframes; k++)
			if (a->stacks[i].frames[k] & MA_FRAME_PYTHON_BIT)
				return 1;
	return 0;
}

const char *ma_loc_name(const ma_loc *l, char *buf, size_t len)
{
	if (l->function)
		snprintf(buf, len, "%s", l->function);
	else if (l->python)
		snprintf(buf, len, "<python frame %u>", (uint32_t)l->frame);
	else if (l->module) {
		const char *base = strrchr(l->module, '/');
		snprintf(buf, len, "%s+0x%llx", base ? base + 1 : l->module,
			 (unsigned long long)l->module_offset);
	} else
		snprintf(buf, len, "0x%llx", (unsigned long long)l->frame);
	return buf;
}

const char *ma_loc_where(const ma_loc *l, char *buf, size_t len)
{
	if (l->file && l->line)
		snprintf(buf, len, "%s:%u", l->file, l->line);
	else if (l->file)
		snprintf(buf, len, "%s", l->file);
	else
		buf[0] = 0;
	return buf;
}

/* ---------------------------------------------------------------- tree */

static int same_str(const char *x, const char *y)
{
	return x == y || (x && y && !strcmp(x, y));
}

uint64_t ma_loc_hash(const ma_loc *l, int by_line)
{
	uint64_t h = MA_HASH_SEED ^ (uint64_t)l->python;
	if (!l->function)
		return ma_hash_mix(h ^ l->frame);
	/* A function is its name in its file: Python's many "<module>"s and
	 * C's static functions of one name are different functions. */
	h = ma_hash_str(ma_hash_str(h, l->function), l->file);
	if (by_line)
		h ^= (uint64_t)l->line * 0x9e3779b97f4a7c15ull;
	return ma_hash_mix(h);
}

int ma_loc_same(const ma_loc *x, const ma_loc *y, int by_line)
{
	if (x->python != y->python || !x->function != !y->function)
		return 0;
	if (!x->function)
		return x->frame == y->frame;
	if (!same_str(x->function, y->function) || !same_str(x->file, y->file))
		return 0;
	return !by_line || x->line == y->line;
}

typedef struct builder {
	ma_tree *t;
	size_t cap;
	uint32_t *slots;        /* hash of (parent, key) → node + 1 */
	uint64_t *keys;         /* per node */
	size_t mask;
	int by_line;
} builder;

static uint64_t slot_hash(uint32_t parent, uint64_t key)
{
	return ma_hash_mix(key ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull));
}

static int rehash(builder *b)
{
	size_t cap = (b->mask + 1) * 2;
	uint32_t *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t n = 1; n < b->t->nnodes; n++) {
		size_t i = slot_hash(b->t->nodes[n].parent, b->keys[n]) & (cap - 1);
		while (s[i])
			i = (i + 1) & (cap - 1);
		s[i] = (uint32_t)n + 1;
	}
	free(b->slots);
	b->slots = s;
	b->mask = cap - 1;
	return 0;
}

/* The child of parent at l, created when new.  UINT32_MAX on OOM. */
static uint32_t child(builder *b, uint32_t parent, const ma_loc *l)
{
	ma_tree *t = b->t;
	uint64_t key = ma_loc_hash(l, b->by_line);
	size_t i = slot_hash(parent, key) & b->mask;
	for (; b->slots[i]; i = (i + 1) & b->mask) {
		uint32_t n = b->slots[i] - 1;
		if (b->keys[n] == key && t->nodes[n].parent == parent && ma_loc_same(&t->nodes[n].loc, l, b->by_line))
			return n;
	}
	if (t->nnodes + 1 > b->cap) {
		size_t c = b->cap * 2;
		ma_tree_node *nn = realloc(t->nodes, c * sizeof *nn);
		if (nn)
			t->nodes = nn;
		uint64_t *nk = realloc(b->keys, c * sizeof *nk);
		if (nk)
			b->keys = nk;
		if (!nn || !nk)
			return UINT32_MAX;
		b->cap = c;
	}
	uint32_t n = (uint32_t)t->nnodes++;
	ma_tree_node *p = &t->nodes[parent];
	t->nodes[n] = (ma_tree_node){ .parent = parent, .first_child = UINT32_MAX,
				      .next_sibling = p->first_child, .depth = p->depth + 1, .loc = *l };
	p->first_child = n;
	b->keys[n] = key;
	b->slots[i] = n + 1;
	if (t->nnodes * 2 > b->mask + 1 && rehash(b) < 0)
		return UINT32_MAX;
	return n;
}

static void add(ma_count *c, ma_count v)
{
	c->count += v.count;
	c->bytes += v.bytes;
}

/* Adds a stack's value in every metric to v[]. */
static void add_values(ma_count *v, const ma_stack_stats *s)
{
	for (int m = 0; m < MA_METRICS; m++)
		add(&v[m], ma_stack_value(s, (ma_metric)m));
}

/* The part of a view a tree takes, as the range [*lo, *hi) and the
 * direction: the whole stack from the outermost frame in, or with
 * --inverted from the allocation site out; --callees F from F's outermost
 * occurrence in, --callers F from F's innermost occurrence out.  0 when
 * the stack does not go through F. */
static int tree_range(const ma_loc *view, size_t n, const ma_report_opts *o, size_t *lo, size_t *hi,
		      int *inverted)
{
	*lo = 0;
	*hi = n;
	*inverted = o->inverted;
	const char *focus = o->callers ? o->callers : o->callees;
	if (!focus)
		return 1;
	size_t k, found = n;
	for (k = 0; k < n; k++)
		if (view[k].function && !strcmp(view[k].function, focus)) {
			found = k;
			if (o->callers)
				break;   /* the innermost */
		}
	if (found == n)
		return 0;
	if (o->callers) {
		*lo = found;
		*inverted = 1;
	} else {
		*hi = found + 1;
		*inverted = 0;
	}
	return 1;
}

ma_tree *ma_tree_build(const ma_analysis *a, const ma_report_opts *opts, int by_line)
{
	ma_tree *t = calloc(1, sizeof *t);
	ma_loc *view = malloc(VIEW_MAX * sizeof *view);
	builder b = { .t = t, .cap = 1024, .by_line = by_line, .mask = 4095 };
	if (!t || !view)
		goto oom;
	t->nodes = malloc(b.cap * sizeof *t->nodes);
	b.keys = malloc(b.cap * sizeof *b.keys);
	b.slots = calloc(b.mask + 1, sizeof *b.slots);
	t->stack_leaf = calloc(a->nstacks + 1, sizeof *t->stack_leaf);
	if (!t->nodes || !b.keys || !b.slots || !t->stack_leaf)
		goto oom;
	t->nodes[0] = (ma_tree_node){ .parent = UINT32_MAX, .first_child = UINT32_MAX,
				      .next_sibling = UINT32_MAX };
	t->nnodes = 1;
	for (size_t i = 0; i < a->nstacks; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		if (!s->alloc.count)
			continue;      /* nothing selected from it */
		size_t n = ma_stack_view(a, s, opts, view, VIEW_MAX), lo, hi;
		int inverted;
		if (!tree_range(view, n, opts, &lo, &hi, &inverted))
			continue;
		uint32_t cur = 0;
		add_values(t->nodes[0].value, s);
		for (size_t j = lo; j < hi; j++) {
			cur = child(&b, cur, &view[inverted ? j : lo + hi - 1 - j]);
			if (cur == UINT32_MAX)
				goto oom;
			add_values(t->nodes[cur].value, s);
		}
		add_values(t->nodes[cur].self, s);
		t->stack_leaf[i] = cur;
	}
	free(view);
	free(b.keys);
	free(b.slots);
	ma_tree_sort(t, opts->metric);
	return t;
oom:
	free(view);
	free(b.keys);
	free(b.slots);
	ma_tree_free(t);
	return NULL;
}

ma_count ma_tree_value(const ma_tree_node *n, ma_metric m)
{
	return n->value[m];
}

typedef struct sort_ctx {
	const ma_tree *t;
	ma_metric m;
	int by_change;           /* by the size of the change from the base */
} sort_ctx;

static sort_ctx g_sort;   /* qsort has no context argument in C99 */

static int cmp_node(const void *x, const void *y)
{
	const ma_tree_node *p = &g_sort.t->nodes[*(const uint32_t *)x];
	const ma_tree_node *q = &g_sort.t->nodes[*(const uint32_t *)y];
	if (g_sort.by_change) {
		int64_t d1 = ma_tree_change(g_sort.t, *(const uint32_t *)x, g_sort.m);
		int64_t d2 = ma_tree_change(g_sort.t, *(const uint32_t *)y, g_sort.m);
		uint64_t a1 = d1 < 0 ? (uint64_t)-d1 : (uint64_t)d1, a2 = d2 < 0 ? (uint64_t)-d2 : (uint64_t)d2;
		if (a1 != a2)
			return a1 < a2 ? 1 : -1;
	}
	ma_count a = ma_tree_value(p, g_sort.m), b = ma_tree_value(q, g_sort.m);
	if (a.bytes != b.bytes)
		return a.bytes < b.bytes ? 1 : -1;
	if (a.count != b.count)
		return a.count < b.count ? 1 : -1;
	char n1[256], n2[256];
	int c = strcmp(ma_loc_name(&p->loc, n1, sizeof n1), ma_loc_name(&q->loc, n2, sizeof n2));
	if (c)
		return c;
	return p->loc.line < q->loc.line ? -1 : p->loc.line > q->loc.line;
}

static void sort_children(ma_tree *t, ma_metric m, int by_change)
{
	uint32_t *kids = NULL;
	size_t cap = 0;
	g_sort = (sort_ctx){ t, m, by_change };
	for (size_t n = 0; n < t->nnodes; n++) {
		size_t k = 0;
		for (uint32_t c = t->nodes[n].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
			if (k == cap) {
				size_t nc = cap ? cap * 2 : 64;
				uint32_t *g = realloc(kids, nc * sizeof *g);
				if (!g) {
					free(kids);
					return;     /* unsorted, still correct */
				}
				kids = g;
				cap = nc;
			}
			kids[k++] = c;
		}
		if (k < 2)
			continue;
		qsort(kids, k, sizeof *kids, cmp_node);
		t->nodes[n].first_child = kids[0];
		for (size_t i = 0; i < k; i++)
			t->nodes[kids[i]].next_sibling = i + 1 < k ? kids[i + 1] : UINT32_MAX;
	}
	free(kids);
}

void ma_tree_sort(ma_tree *t, ma_metric m)
{
	sort_children(t, m, 0);
}

void ma_tree_sort_change(ma_tree *t, ma_metric m)
{
	sort_children(t, m, 1);
}

void ma_tree_free(ma_tree *t)
{
	if (!t)
		return;
	free(t->base);
	free(t->base_self);
	free(t->nodes);
	free(t->stack_leaf);
	free(t);
}

/* report_flamegraph.c — `memattach report flamegraph FILE -o OUT.html`: one
 * self-contained HTML page (cli/flamegraph/flamegraph.html, embedded at
 * build time) with the capture's call tree as compact JSON in it.
 *
 * The replay is our own so that the data can be split by thread: every
 * allocation's stack id is replaced by the id of its (thread, stack) pair
 * before the analysis sees it, so the analysis' own counting rules give us
 * per-thread totals, leaks and live-at-peak.  At Ticks we copy the live
 * bytes of every pair: the live set at up to MAX_MOMENTS moments.
 *
 * Data model (see the page's loader): a string table, a merged call tree in
 * DFS preorder (parent as a delta, name/file string index, line), "leaves"
 * = (thread, node) pairs with their values per mode, the time series and
 * the moments as sparse (leaf, bytes, blocks) lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "exit_codes.h"
#include "record_io.h"
#include "report.h"

#define MAX_MOMENTS 200
#define MAX_MOMENT_ENTRIES (6u << 20)   /* bounds memory and page size */
#define MAX_POINTS 1500                 /* of the memory chart */

extern const unsigned char ma_flamegraph_html[];
extern const unsigned long ma_flamegraph_html_len;

/* ------------------------------------------------- small hash tables */

typedef struct hmap {
	uint64_t *k;
	uint32_t *v;             /* UINT32_MAX: empty */
	size_t mask, n;
} hmap;

static inline size_t hmix(uint64_t k)
{
	k ^= k >> 31;
	k *= 0x9e3779b97f4a7c15ull;
	k ^= k >> 29;
	return (size_t)k;
}

static int hmap_grow(hmap *m)
{
	size_t cap = m->k ? (m->mask + 1) * 2 : 256;
	uint64_t *k = malloc(cap * sizeof *k);
	uint32_t *v = malloc(cap * sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	memset(v, 0xff, cap * sizeof *v);
	for (size_t i = 0; m->k && i <= m->mask; i++) {
		if (m->v[i] == UINT32_MAX)
			continue;
		size_t j = hmix(m->k[i]) & (cap - 1);
		while (v[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		k[j] = m->k[i];
		v[j] = m->v[i];
	}
	free(m->k);
	free(m->v);
	m->k = k;
	m->v = v;
	m->mask = cap - 1;
	return 0;
}

/* Slot of key (v == UINT32_MAX when absent), or NULL on OOM. */
static uint32_t *hmap_slot(hmap *m, uint64_t key)
{
	if ((m->n + 1) * 2 > (m->k ? m->mask + 1 : 0) && hmap_grow(m) < 0)
		return NULL;
	size_t i = hmix(key) & m->mask;
	while (m->v[i] != UINT32_MAX && m->k[i] != key)
		i = (i + 1) & m->mask;
	if (m->v[i] == UINT32_MAX)
		m->k[i] = key;
	return &m->v[i];
}

static uint32_t hmap_get(const hmap *m, uint64_t key)
{
	if (!m->k)
		return UINT32_MAX;
	for (size_t i = hmix(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->v[i] == UINT32_MAX || m->k[i] == key)
			return m->v[i];
	}
}

static void hmap_free(hmap *m)
{
	free(m->k);
	free(m->v);
}

#define GROW(arr, cap, need)                                                     \
	((need) <= (cap) ? 0 : grow((void **)&(arr), &(cap), (need), sizeof *(arr)))

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* ------------------------------------------------- strings (interned) */

typedef struct strtab {
	char **s;
	size_t n, cap;
	hmap idx;                /* hash → first index; collisions chained below */
	uint32_t *next;          /* same-hash chain */
	size_t cap_next;
} strtab;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* Index of s, added when new; UINT32_MAX on OOM. */
static uint32_t str_intern(strtab *t, const char *s)
{
	uint64_t h = str_hash(s);
	uint32_t *slot = hmap_slot(&t->idx, h);
	if (!slot)
		return UINT32_MAX;
	for (uint32_t i = *slot; i != UINT32_MAX; i = t->next[i])
		if (!strcmp(t->s[i], s))
			return i;
	if (GROW(t->s, t->cap, t->n + 1) < 0 || GROW(t->next, t->cap_next, t->n + 1) < 0)
		return UINT32_MAX;
	char *d = strdup(s);
	if (!d)
		return UINT32_MAX;
	uint32_t i = (uint32_t)t->n++;
	t->s[i] = d;
	t->next[i] = *slot;
	if (*slot == UINT32_MAX)
		t->idx.n++;
	*slot = i;
	return i;
}

static void strtab_free(strtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	free(t->s);
	free(t->next);
	hmap_free(&t->idx);
}

/* ------------------------------------------------- the replay */

typedef struct moment_entry {
	uint32_t pair;
	uint32_t count;
	uint64_t bytes;
} moment_entry;

typedef struct fg {
	ma_analysis *a;
	/* (tid, stack id) pairs; pair i is stack id i + 1 in the analysis */
	hmap pair_of;
	uint32_t *pair_tid, *pair_stack;
	size_t npairs, cap_pairs;
	/* frames of the capture's stacks, by stack id */
	hmap stack_of;
	size_t *st_off;
	uint32_t *st_n;
	size_t nst, cap_st, cap_st_n;
	uint64_t *frames;
	size_t nframes, cap_frames;
	ma_event *buf;
	size_t cap_buf;
	/* moments: snapshot at every stride-th Tick, thinned when full */
	uint64_t ticks, stride;
	size_t nmoments, cap_mt;
	uint64_t *m_time, *m_heap, *m_tick;
	size_t *m_off;           /* nmoments + 1 */
	size_t cap_moff;
	moment_entry *ent;
	size_t nent, cap_ent;
	int oom;
} fg;

static uint32_t pair_id(fg *g, uint32_t tid, uint32_t stack)
{
	uint64_t key = (uint64_t)tid << 32 | stack;
	uint32_t *slot = hmap_slot(&g->pair_of, key);
	if (!slot)
		goto oom;
	if (*slot != UINT32_MAX)
		return *slot + 1;
	if (GROW(g->pair_tid, g->cap_pairs, g->npairs + 1) < 0)
		goto oom;
	size_t c = g->cap_pairs;
	uint32_t *s = realloc(g->pair_stack, c * sizeof *s);
	if (!s)
		goto oom;
	g->pair_stack = s;
	g->pair_tid[g->npairs] = tid;
	g->pair_stack[g->npairs] = stack;
	*slot = (uint32_t)g->npairs++;
	g->pair_of.n++;
	return *slot + 1;
oom:
	g->oom = 1;
	return 0;
}

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	fg *g = ctx;
	if (GROW(g->buf, g->cap_buf, n) < 0) {
		g->oom = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		g->buf[i] = e[i];
		if (ma_kind_is_alloc(e[i].kind))
			g->buf[i].stack = pair_id(g, e[i].tid, e[i].stack);
	}
	ma_analysis_ops.events(g->a, g->buf, n);
}

static void on_stack(void *ctx, const Memattach__Stack *s)
{
	fg *g = ctx;
	uint32_t *slot = hmap_slot(&g->stack_of, s->id);
	if (!slot)
		goto oom;
	if (*slot != UINT32_MAX)
		return;
	if (GROW(g->st_off, g->cap_st, g->nst + 1) < 0 || GROW(g->st_n, g->cap_st_n, g->nst + 1) < 0 ||
	    GROW(g->frames, g->cap_frames, g->nframes + s->n_frames) < 0)
		goto oom;
	memcpy(g->frames + g->nframes, s->frames, s->n_frames * sizeof *s->frames);
	g->st_off[g->nst] = g->nframes;
	g->st_n[g->nst] = (uint32_t)s->n_frames;
	g->nframes += s->n_frames;
	*slot = (uint32_t)g->nst++;
	g->stack_of.n++;
	return;
oom:
	g->oom = 1;
}

/* Keeps every other moment (the ones on a multiple of the doubled stride). */
static void thin_moments(fg *g)
{
	g->stride *= 2;
	size_t w = 0, we = 0;
	for (size_t m = 0; m < g->nmoments; m++) {
		if (g->m_tick[m] % g->stride)
			continue;
		size_t from = g->m_off[m], to = g->m_off[m + 1];
		memmove(g->ent + we, g->ent + from, (to - from) * sizeof *g->ent);
		g->m_time[w] = g->m_time[m];
		g->m_heap[w] = g->m_heap[m];
		g->m_tick[w] = g->m_tick[m];
		g->m_off[w] = we;
		we += to - from;
		w++;
	}
	g->nmoments = w;
	g->m_off[w] = we;
	g->nent = we;
}

static void snapshot(fg *g, uint64_t time_ns)
{
	ma_analysis *a = g->a;
	size_t live = 0;
	for (size_t i = 0; i < a->nstacks; i++)
		live += a->stacks[i].live.count != 0;
	while (g->nmoments && (g->nmoments >= MAX_MOMENTS || g->nent + live > MAX_MOMENT_ENTRIES)) {
		thin_moments(g);
		if (g->ticks % g->stride)
			return;
	}
	if (live > MAX_MOMENT_ENTRIES)
		return;
	if (GROW(g->m_time, g->cap_mt, g->nmoments + 1) < 0 ||
	    GROW(g->m_off, g->cap_moff, g->nmoments + 2) < 0 ||
	    GROW(g->ent, g->cap_ent, g->nent + live) < 0)
		goto oom;
	size_t c = g->cap_mt;
	uint64_t *h = realloc(g->m_heap, c * sizeof *h), *t;
	if (!h)
		goto oom;
	g->m_heap = h;
	if (!(t = realloc(g->m_tick, c * sizeof *t)))
		goto oom;
	g->m_tick = t;
	size_t m = g->nmoments++;
	g->m_time[m] = time_ns;
	g->m_heap[m] = a->live_bytes;
	g->m_tick[m] = g->ticks;
	g->m_off[m] = g->nent;
	for (size_t i = 0; i < a->nstacks; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		if (s->live.count && s->id)
			g->ent[g->nent++] = (moment_entry){ s->id - 1, (uint32_t)s->live.count, s->live.bytes };
	}
	g->m_off[m + 1] = g->nent;
	return;
oom:
	g->oom = 1;
}

static void on_tick(void *ctx, const Memattach__Tick *t)
{
	fg *g = ctx;
	ma_analysis_ops.tick(g->a, t);
	if (g->ticks % g->stride == 0)
		snapshot(g, t->time_ns);
	g->ticks++;
}

/* The analysis' own callbacks, for everything but events, stacks, ticks. */
#define FWD(name, type)                                                            \
	static void fwd_##name(void *ctx, const type *r)                          \
	{                                                                          \
		ma_analysis_ops.name(((fg *)ctx)->a, r);                           \
	}
FWD(header, Memattach__Header)
FWD(python_frame, Memattach__PythonFrame)
FWD(thread, Memattach__ThreadInfo)
FWD(agent_trailer, Memattach__AgentTrailer)
FWD(symbol, Memattach__Symbol)
FWD(capture_trailer, Memattach__CaptureTrailer)

static const ma_replay_ops fg_ops = {
	.header = fwd_header,
	.events = on_events,
	.stack = on_stack,
	.python_frame = fwd_python_frame,
	.thread = fwd_thread,
	.tick = on_tick,
	.agent_trailer = fwd_agent_trailer,
	.symbol = fwd_symbol,
	.capture_trailer = fwd_capture_trailer,
};

static void fg_free(fg *g)
{
	hmap_free(&g->pair_of);
	hmap_free(&g->stack_of);
	free(g->pair_tid);
	free(g->pair_stack);
	free(g->st_off);
	free(g->st_n);
	free(g->frames);
	free(g->buf);
	free(g->m_time);
	free(g->m_heap);
	free(g->m_tick);
	free(g->m_off);
	free(g->ent);
}

/* ------------------------------------------------- the merged tree */

typedef struct tree {
	strtab str;
	hmap frame_key;          /* address → index in addr_key/addr_line */
	uint32_t *addr_key, *addr_line;
	size_t naddr, cap_addr;
	uint32_t *fk_name, *fk_file, *fk_line;
	size_t nfk, cap_fk;
	hmap fkey_of;            /* name << 32 | file → fkey (merges lines) */
	hmap child;              /* parent << 32 | fkey → node */
	uint32_t *parent, *fkey, *line;   /* line: UINT32_MAX when several */
	size_t nnodes, cap_nodes;
	int oom;
} tree;

static uint32_t new_node(tree *t, uint32_t parent, uint32_t fkey, uint32_t line)
{
	size_t n = t->nnodes;
	if (GROW(t->parent, t->cap_nodes, n + 1) < 0)
		return UINT32_MAX;
	size_t c = t->cap_nodes;
	uint32_t *f = realloc(t->fkey, c * sizeof *f);
	if (!f)
		return UINT32_MAX;
	t->fkey = f;
	uint32_t *l = realloc(t->line, c * sizeof *l);
	if (!l)
		return UINT32_MAX;
	t->line = l;
	t->parent[n] = parent;
	t->fkey[n] = fkey;
	t->line[n] = line;
	t->nnodes++;
	return (uint32_t)n;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* Key of (function, file): frames at several lines of one function merge. */
static uint32_t fkey_for(tree *t, uint32_t ni, uint32_t fi, uint32_t line)
{
	if (ni == UINT32_MAX || fi == UINT32_MAX)
		return UINT32_MAX;
	uint32_t *ks = hmap_slot(&t->fkey_of, (uint64_t)ni << 32 | fi);
	if (!ks)
		return UINT32_MAX;
	if (*ks != UINT32_MAX)
		return *ks;
	size_t n = t->nfk;
	if (GROW(t->fk_name, t->cap_fk, n + 1) < 0)
		return UINT32_MAX;
	uint32_t *f = realloc(t->fk_file, t->cap_fk * sizeof *f), *l;
	if (!f)
		return UINT32_MAX;
	t->fk_file = f;
	if (!(l = realloc(t->fk_line, t->cap_fk * sizeof *l)))
		return UINT32_MAX;
	t->fk_line = l;
	t->fk_name[n] = ni;
	t->fk_file[n] = fi;
	t->fk_line[n] = line;
	t->nfk++;
	t->fkey_of.n++;
	*ks = (uint32_t)n;
	return *ks;
}

/* Frame key of a frame address, and its own line. */
static uint32_t frame_key(tree *t, const ma_analysis *a, uint64_t frame, uint32_t *line)
{
	uint32_t *slot = hmap_slot(&t->frame_key, frame);
	if (!slot)
		return UINT32_MAX;
	if (*slot != UINT32_MAX) {
		*line = t->addr_line[*slot];
		return t->addr_key[*slot];
	}
	char name[512], file[512];
	*line = 0;
	file[0] = 0;
	if (frame & MA_FRAME_PYTHON_BIT) {
		const ma_pyframe *p = ma_analysis_pyframe(a, (uint32_t)frame);
		if (p && p->function) {
			snprintf(name, sizeof name, "%s", p->function);
			snprintf(file, sizeof file, "%s", p->file ? p->file : "");
			*line = p->line;
		} else {
			snprintf(name, sizeof name, "<python frame %u>", (uint32_t)frame);
		}
	} else {
		const ma_symbol *s = ma_analysis_symbol(a, frame);
		if (s && s->function) {
			snprintf(name, sizeof name, "%s", s->function);
			snprintf(file, sizeof file, "%s", s->file ? s->file : s->module ? s->module : "");
			*line = s->file ? s->line : 0;
		} else if (s && s->module) {
			snprintf(name, sizeof name, "%s+0x%llx", base_name(s->module),
				 (unsigned long long)s->module_offset);
			snprintf(file, sizeof file, "%s", s->module);
		} else {
			snprintf(name, sizeof name, "0x%llx", (unsigned long long)frame);
		}
	}
	uint32_t k = fkey_for(t, str_intern(&t->str, name), str_intern(&t->str, file), *line);
	if (k == UINT32_MAX)
		return UINT32_MAX;
	size_t n = t->naddr;
	if (GROW(t->addr_key, t->cap_addr, n + 1) < 0)
		return UINT32_MAX;
	uint32_t *l = realloc(t->addr_line, t->cap_addr * sizeof *l);
	if (!l)
		return UINT32_MAX;
	t->addr_line = l;
	t->addr_key[n] = k;
	t->addr_line[n] = *line;
	t->naddr++;
	/* the table may have grown since the first look */
	slot = hmap_slot(&t->frame_key, frame);
	if (!slot)
		return UINT32_MAX;
	t->frame_key.n++;
	*slot = (uint32_t)n;
	return k;
}

static uint32_t child_of(tree *t, uint32_t node, uint32_t k, uint32_t line)
{
	uint32_t *slot = hmap_slot(&t->child, (uint64_t)node << 32 | k);
	if (!slot)
		return UINT32_MAX;
	if (*slot == UINT32_MAX) {
		uint32_t c = new_node(t, node, k, line);
		if (c == UINT32_MAX)
			return UINT32_MAX;
		slot = hmap_slot(&t->child, (uint64_t)node << 32 | k);
		t->child.n++;
		*slot = c;
	} else if (t->line[*slot] != line) {
		t->line[*slot] = UINT32_MAX;
	}
	return *slot;
}

/* Leaf node of a stack's path from the root (frames innermost first). */
static uint32_t add_path(tree *t, const ma_analysis *a, const uint64_t *frames, uint32_t n)
{
	if (n == 0) {
		uint32_t k = fkey_for(t, str_intern(&t->str, "[unknown stack]"), str_intern(&t->str, ""), 0);
		return k == UINT32_MAX ? k : child_of(t, 0, k, 0);
	}
	uint32_t node = 0;
	for (uint32_t i = n; i-- > 0 && node != UINT32_MAX;) {
		uint32_t line;
		uint32_t k = frame_key(t, a, frames[i], &line);
		node = k == UINT32_MAX ? k : child_of(t, node, k, line);
	}
	return node;
}

static void tree_free(tree *t)
{
	strtab_free(&t->str);
	hmap_free(&t->frame_key);
	hmap_free(&t->fkey_of);
	hmap_free(&t->child);
	free(t->fk_name);
	free(t->fk_file);
	free(t->fk_line);
	free(t->addr_key);
	free(t->addr_line);
	free(t->parent);
	free(t->fkey);
	free(t->line);
}

/* ------------------------------------------------- output */

/* A JSON string that is also safe inside <script>: '<' is escaped. */
static void put_str(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
			fprintf(f, "\\u%04x", *p);
		else
			putc(*p, f);
	}
	putc('"', f);
}

static void put_u64s(FILE *f, const char *key, const uint64_t *v, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)v[i]);
	putc(']', f);
}

static void put_meta(FILE *f, const ma_analysis *a, const char *mode, const char *capture)
{
	fprintf(f, "\"meta\":{\"command\":");
	put_str(f, a->command_line ? a->command_line : a->executable ? a->executable : "");
	fprintf(f, ",\"capture\":");
	put_str(f, capture);
	fprintf(f, ",\"pid\":%u,\"attached\":%d,\"duration_ns\":%llu,\"peak_bytes\":%llu,"
		"\"peak_blocks\":%llu,\"peak_time_ns\":%llu,\"leaked_bytes\":%llu,\"leaked_blocks\":%llu,"
		"\"total_bytes\":%llu,\"total_allocations\":%llu,\"mode\":\"%s\",\"note\":",
		a->pid, a->attached, (unsigned long long)a->duration_ns,
		(unsigned long long)a->peak_bytes, (unsigned long long)a->peak_blocks,
		(unsigned long long)a->peak_time_ns, (unsigned long long)a->live_bytes,
		(unsigned long long)a->live_blocks, (unsigned long long)a->total_bytes_allocated,
		(unsigned long long)a->total_allocations, mode);
	char note[600] = "";
	char t[64];
	if (a->replay.truncated)
		snprintf(note, sizeof note,
			 "The capture is truncated (%s): this covers what was recorded up to %s.",
			 !a->replay.has_agent_trailer && !a->replay.has_capture_trailer
				 ? "no trailer: the recording was interrupted" : "the file ends mid-record",
			 ma_fmt_seconds(a->duration_ns, t, sizeof t));
	else if (a->has_capture_trailer && !a->complete)
		snprintf(note, sizeof note,
			 "The agent's stream ended early (%s): this covers what was recorded up to %s.",
			 a->note ? a->note : "no reason given", ma_fmt_seconds(a->duration_ns, t, sizeof t));
	if (a->dropped_events)
		snprintf(note + strlen(note), sizeof note - strlen(note),
			 "%sThe agent dropped %llu events: totals are low by that much.",
			 *note ? " " : "", (unsigned long long)a->dropped_events);
	if (*note)
		put_str(f, note);
	else
		fputs("null", f);
	putc('}', f);
}

static int write_page(FILE *out, fg *g, tree *t, const uint32_t *leaf, const char *mode,
		      const char *capture)
{
	ma_analysis *a = g->a;
	size_t nn = t->nnodes;
	/* DFS preorder: a subtree is a contiguous range in the page */
	uint32_t *nchild = calloc(nn + 1, sizeof *nchild), *kids = malloc(nn * sizeof *kids);
	uint32_t *order = malloc(nn * sizeof *order), *newid = malloc(nn * sizeof *newid);
	uint32_t *stk = malloc(nn * sizeof *stk), *tmp = malloc((nn + 1) * sizeof *tmp);
	if (!nchild || !kids || !order || !newid || !stk || !tmp) {
		free(nchild), free(kids), free(order), free(newid), free(stk), free(tmp);
		return -1;
	}
	for (size_t i = 1; i < nn; i++)
		nchild[t->parent[i] + 1]++;
	for (size_t i = 0; i < nn; i++)
		nchild[i + 1] += nchild[i];      /* start of node i's children */
	memcpy(tmp, nchild, (nn + 1) * sizeof *tmp);
	for (size_t i = 1; i < nn; i++)
		kids[tmp[t->parent[i]]++] = (uint32_t)i;
	size_t sp = 0, k = 0;
	stk[sp++] = 0;
	while (sp) {
		uint32_t x = stk[--sp];
		newid[x] = (uint32_t)k;
		order[k++] = x;
		for (uint32_t c = nchild[x + 1]; c-- > nchild[x];)
			stk[sp++] = kids[c];
	}

	const char *h = (const char *)ma_flamegraph_html;
	const char *mark = "@@MEMATTACH_DATA@@";
	const char *at = strstr(h, mark);
	if (!at) {
		free(nchild), free(kids), free(order), free(newid), free(stk), free(tmp);
		return -2;
	}
	fwrite(h, 1, (size_t)(at - h), out);

	fputc('{', out);
	fprintf(out, "\"v\":1,");
	put_meta(out, a, mode, capture);
	fprintf(out, ",\"strings\":[");
	for (size_t i = 0; i < t->str.n; i++) {
		if (i)
			putc(',', out);
		put_str(out, t->str.s[i]);
	}
	putc(']', out);
	/* per node (preorder): parent delta, name, file, line (-1: several) */
	fprintf(out, ",\"node_parent\":[0");
	for (size_t i = 1; i < nn; i++)
		fprintf(out, ",%u", (unsigned)(i - newid[t->parent[order[i]]]));
	fprintf(out, "],\"node_name\":[");
	for (size_t i = 0; i < nn; i++)
		fprintf(out, i ? ",%u" : "%u", t->fk_name[t->fkey[order[i]]]);
	fprintf(out, "],\"node_file\":[");
	for (size_t i = 0; i < nn; i++)
		fprintf(out, i ? ",%u" : "%u", t->fk_file[t->fkey[order[i]]]);
	fprintf(out, "],\"node_line\":[");
	for (size_t i = 0; i < nn; i++) {
		uint32_t l = t->line[order[i]];
		if (l == UINT32_MAX)
			fprintf(out, i ? ",-1" : "-1");
		else
			fprintf(out, i ? ",%u" : "%u", l);
	}
	putc(']', out);

	/* threads */
	fprintf(out, ",\"threads\":[");
	for (size_t i = 0; i < a->nthreads; i++) {
		fprintf(out, "%s{\"tid\":%u,\"name\":", i ? "," : "", a->threads[i].tid);
		if (a->threads[i].name)
			put_str(out, a->threads[i].name);
		else
			fputs("null", out);
		putc('}', out);
	}
	putc(']', out);

	/* leaves: one per (thread, stack) pair */
	fprintf(out, ",\"leaf_node\":[");
	for (size_t p = 0; p < g->npairs; p++)
		fprintf(out, p ? ",%u" : "%u", leaf[p] == UINT32_MAX ? 0 : newid[leaf[p]]);
	fprintf(out, "],\"leaf_thread\":[");
	for (size_t p = 0; p < g->npairs; p++) {
		size_t ti = 0;
		while (ti < a->nthreads && a->threads[ti].tid != g->pair_tid[p])
			ti++;
		fprintf(out, p ? ",%zu" : "%zu", ti);
	}
	putc(']', out);
	static const char *keys[6] = { "peak_b", "peak_n", "leak_b", "leak_n", "total_b", "total_n" };
	for (int m = 0; m < 6; m++) {
		fprintf(out, ",\"%s\":[", keys[m]);
		for (size_t p = 0; p < g->npairs; p++) {
			const ma_stack_stats *s = ma_analysis_stack(a, (uint32_t)p + 1);
			uint64_t v = 0;
			if (s) {
				const ma_count *c = m < 2 ? &s->at_peak : m < 4 ? &s->live : &s->alloc;
				v = m & 1 ? c->count : c->bytes;
			}
			fprintf(out, p ? ",%llu" : "%llu", (unsigned long long)v);
		}
		putc(']', out);
	}

	/* memory over time, at most MAX_POINTS (the max of each bucket) */
	size_t ns = a->nsamples, step = (ns + MAX_POINTS - 1) / MAX_POINTS;
	if (step < 1)
		step = 1;
	size_t np = (ns + step - 1) / step;
	uint64_t *pt = malloc((np + 1) * sizeof *pt), *ph = malloc((np + 1) * sizeof *ph),
		 *pr = malloc((np + 1) * sizeof *pr);
	if (pt && ph && pr) {
		for (size_t i = 0; i < np; i++) {
			pt[i] = ph[i] = pr[i] = 0;
			for (size_t j = i * step; j < ns && j < (i + 1) * step; j++) {
				const ma_sample *s = &a->samples[j];
				if (s->heap_bytes >= ph[i]) {
					ph[i] = s->heap_bytes;
					pt[i] = s->time_ns;
				}
				if (s->rss_bytes > pr[i])
					pr[i] = s->rss_bytes;
			}
		}
	} else {
		np = 0;
	}
	fprintf(out, ",\"series\":{\"len\":%zu", np);
	put_u64s(out, "t", pt, np);
	put_u64s(out, "heap", ph, np);
	put_u64s(out, "rss", pr, np);
	fprintf(out, "},\"moments\":{\"len\":%zu", g->nmoments);
	put_u64s(out, "t", g->m_time, g->nmoments);
	put_u64s(out, "heap", g->m_heap, g->nmoments);
	fprintf(out, ",\"off\":[");
	for (size_t m = 0; m <= g->nmoments; m++)
		fprintf(out, m ? ",%zu" : "%zu", g->nmoments ? g->m_off[m] : 0);
	fprintf(out, "],\"leaf\":[");
	for (size_t e = 0; e < g->nent; e++)
		fprintf(out, e ? ",%u" : "%u", g->ent[e].pair);
	fprintf(out, "],\"b\":[");
	for (size_t e = 0; e < g->nent; e++)
		fprintf(out, e ? ",%llu" : "%llu", (unsigned long long)g->ent[e].bytes);
	fprintf(out, "],\"blocks\":[");
	for (size_t e = 0; e < g->nent; e++)
		fprintf(out, e ? ",%u" : "%u", g->ent[e].count);
	fprintf(out, "]}}");
	at += strlen(mark);
	fwrite(at, 1, ma_flamegraph_html_len - (size_t)(at - h), out);
	free(pt), free(ph), free(pr);
	free(nchild), free(kids), free(order), free(newid), free(stk), free(tmp);
	return 0;
}

int ma_report_flamegraph(const ma_report_args *args)
{
	const char *mode = "peak";
	fg g = { .stride = 1 };
	tree t = { 0 };
	uint32_t *leaf = NULL;
	int rc = MA_EXIT_ERROR;
	g.a = ma_analysis_new();
	if (!g.a)
		goto oom;
	char err[600];
	int r = ma_replay_file(args->capture, &fg_ops, &g, &g.a->replay, err, sizeof err);
	ma_analysis_finish(g.a);
	if (r < 0) {
		fprintf(stderr, "memattach report: %s\n", err);
		rc = strstr(err, "out of memory") ? MA_EXIT_ERROR : MA_EXIT_BAD_CAPTURE;
		goto out;
	}
	if (g.oom)
		goto oom;
	/* the live set at the end is a moment too (the last Tick may be older) */
	if (!g.nmoments || g.m_time[g.nmoments - 1] < g.a->duration_ns) {
		g.ticks = 0;       /* on the stride: kept when thinning */
		snapshot(&g, g.a->duration_ns);
		if (g.oom)
			goto oom;
	}
	if (g.a->replay.truncated)
		fprintf(stderr, "warning: capture is truncated: the flame graph covers what was recorded\n");

	if (new_node(&t, UINT32_MAX, 0, 0) == UINT32_MAX ||
	    fkey_for(&t, str_intern(&t.str, "all"), str_intern(&t.str, ""), 0) != 0)
		goto oom;
	leaf = malloc((g.npairs ? g.npairs : 1) * sizeof *leaf);
	if (!leaf)
		goto oom;
	for (size_t p = 0; p < g.npairs; p++) {
		uint32_t si = hmap_get(&g.stack_of, g.pair_stack[p]);
		const uint64_t *fr = si == UINT32_MAX ? NULL : g.frames + g.st_off[si];
		leaf[p] = add_path(&t, g.a, fr, si == UINT32_MAX ? 0 : g.st_n[si]);
		if (leaf[p] == UINT32_MAX)
			goto oom;
	}
	r = write_page(args->out, &g, &t, leaf, mode, args->capture);
	if (r == -2) {
		fprintf(stderr, "memattach report: the flame graph page template is broken (no data marker)\n");
		goto out;
	}
	if (r < 0)
		goto oom;
	rc = MA_EXIT_OK;
	goto out;
oom:
	fprintf(stderr, "memattach report: out of memory building the flame graph\n");
	rc = MA_EXIT_ERROR;
out:
	free(leaf);
	tree_free(&t);
	fg_free(&g);
	ma_analysis_free(g.a);
	return rc;
}

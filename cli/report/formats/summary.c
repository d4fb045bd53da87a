/* summary.c — `memattach report summary`: the locations (function,
 * file:line) holding the most memory, by own memory (the location is the
 * innermost shown frame: it called the allocator — in the Python view, the
 * innermost Python frame) and by total memory (the location is anywhere on
 * the stack, counted once per stack). */
#include <stdlib.h>
#include <string.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"

#define VIEW_MAX 4096

typedef struct row {
	ma_loc loc;
	ma_count own, total;
	size_t last_stack;      /* + 1: the last stack counted in total */
} row;

typedef struct table {
	row *rows;
	size_t n, cap;
	uint32_t *slots;        /* row + 1 */
	size_t mask;
} table;

static int grow_slots(table *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
	uint32_t *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t r = 0; r < t->n; r++) {
		size_t i = ma_loc_hash(&t->rows[r].loc, 1) & (cap - 1);
		while (s[i])
			i = (i + 1) & (cap - 1);
		s[i] = (uint32_t)r + 1;
	}
	free(t->slots);
	t->slots = s;
	t->mask = cap - 1;
	return 0;
}

static row *find(table *t, const ma_loc *l)
{
	if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && grow_slots(t) < 0)
		return NULL;
	size_t i = ma_loc_hash(l, 1) & t->mask;
	for (; t->slots[i]; i = (i + 1) & t->mask)
		if (ma_loc_same(&t->rows[t->slots[i] - 1].loc, l, 1))
			return &t->rows[t->slots[i] - 1];
	if (t->n == t->cap) {
		size_t c = t->cap ? t->cap * 2 : 256;
		row *g = realloc(t->rows, c * sizeof *g);
		if (!g)
			return NULL;
		t->rows = g;
		t->cap = c;
	}
	t->rows[t->n] = (row){ .loc = *l };
	t->slots[i] = (uint32_t)++t->n;
	return &t->rows[t->n - 1];
}

static ma_sort g_sort;

static int cmp_row(const void *x, const void *y)
{
	const row *p = x, *q = y;
	uint64_t a1, b1, a2, b2;
	switch (g_sort) {
	case MA_SORT_TOTAL: a1 = p->total.bytes; b1 = q->total.bytes; a2 = p->own.bytes; b2 = q->own.bytes; break;
	case MA_SORT_COUNT: a1 = p->own.count; b1 = q->own.count; a2 = p->own.bytes; b2 = q->own.bytes; break;
	default: a1 = p->own.bytes; b1 = q->own.bytes; a2 = p->total.bytes; b2 = q->total.bytes; break;
	}
	if (a1 != b1)
		return a1 < b1 ? 1 : -1;
	if (a2 != b2)
		return a2 < b2 ? 1 : -1;
	char n1[256], n2[256];
	int c = strcmp(ma_loc_name(&p->loc, n1, sizeof n1), ma_loc_name(&q->loc, n2, sizeof n2));
	return c ? c : (p->loc.line > q->loc.line) - (p->loc.line < q->loc.line);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

int ma_report_summary(const ma_report_args *args)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	table t = { 0 };
	ma_loc *view = malloc(VIEW_MAX * sizeof *view);
	if (!view)
		goto oom;
	ma_count all = { 0, 0 };
	for (size_t i = 0; i < a->nstacks; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		ma_count v = ma_stack_value(s, o->metric);
		if (!v.count && !v.bytes)
			continue;
		all.count += v.count;
		all.bytes += v.bytes;
		size_t n = ma_stack_view(a, s, o, view, VIEW_MAX);
		if (!n) {       /* no frames recorded: one row per stack id */
			view[0] = (ma_loc){ .frame = 0 };
			n = 1;
		}
		/* In the Python view, "own" is the Python line that asked for
		 * the memory: the innermost Python frame, when there is one. */
		size_t own_k = 0;
		if (!o->native)
			for (size_t k = 0; k < n; k++)
				if (view[k].python) {
					own_k = k;
					break;
				}
		for (size_t k = 0; k < n; k++) {
			row *r = find(&t, &view[k]);
			if (!r)
				goto oom;
			if (k == own_k) {
				r->own.count += v.count;
				r->own.bytes += v.bytes;
			}
			if (r->last_stack != i + 1) {   /* recursion: once per stack */
				r->last_stack = i + 1;
				r->total.count += v.count;
				r->total.bytes += v.bytes;
			}
		}
	}
	g_sort = o->sort;
	qsort(t.rows, t.n, sizeof *t.rows, cmp_row);

	FILE *f = args->out;
	char b1[32], b2[32], b3[32], name[512], where[512];
	/* By own (or count), a location that allocated nothing itself is not
	 * a holder: such rows (sorted last) never fill the top. */
	size_t ranked = t.n;
	if (o->sort != MA_SORT_TOTAL)
		while (ranked && !t.rows[ranked - 1].own.bytes && !t.rows[ranked - 1].own.count)
			ranked--;
	size_t shown = ranked < o->max ? ranked : o->max;
	fprintf(f, "Memory %s: %s (%s B) in %s %s%s\n", ma_metric_title(o->metric),
		ma_fmt_bytes(all.bytes, b1, sizeof b1), ma_fmt_count(all.bytes, b2, sizeof b2),
		ma_fmt_count(all.count, b3, sizeof b3),
		ma_metric_unit(o->metric),
		a->filtered ? " (filtered)" : "");
	ma_report_attribution(a, f);
	fprintf(f, "Top %zu of %zu locations by %s (own: the location called the allocator; "
		"total: with its callees)\n", shown, t.n,
		o->sort == MA_SORT_TOTAL ? "total" : o->sort == MA_SORT_COUNT ? "count" : "own");
	if (ranked < t.n)
		fprintf(f, "(%zu locations that allocate nothing themselves are left out: --sort total lists them)\n",
			t.n - ranked);
	fputc('\n', f);
	fprintf(f, "%15s %7s %15s %7s %12s  %s\n", "own bytes", "own%", "total bytes", "total%",
		ma_metric_unit(o->metric), "location");
	for (size_t i = 0; i < shown; i++) {
		const row *r = &t.rows[i];
		char ob[32], tb[32], cn[32];
		ma_loc_where(&r->loc, where, sizeof where);
		if (!where[0] && !r->loc.function && r->loc.module && !r->loc.python)
			snprintf(where, sizeof where, "0x%llx", (unsigned long long)r->loc.frame);
		if (r->loc.frame == 0 && !r->loc.function && !r->loc.python)
			snprintf(name, sizeof name, "(no stack recorded)");
		else
			ma_loc_name(&r->loc, name, sizeof name);
		fprintf(f, "%15s %6.2f%% %15s %6.2f%% %12s  %s%s%s\n",
			ma_fmt_count(r->own.bytes, ob, sizeof ob), pct(r->own.bytes, all.bytes),
			ma_fmt_count(r->total.bytes, tb, sizeof tb), pct(r->total.bytes, all.bytes),
			ma_fmt_count(r->own.count, cn, sizeof cn), name, where[0] ? "  " : "", where);
	}
	free(view);
	free(t.rows);
	free(t.slots);
	ma_analysis_free(a);
	return MA_EXIT_OK;
oom:
	fprintf(stderr, "memattach report: out of memory building the summary\n");
	free(view);
	free(t.rows);
	free(t.slots);
	ma_analysis_free(a);
	return MA_EXIT_ERROR;
}

/* summary.c — `memattach report summary`: the locations (function,
 * file:line) holding the most memory, by own memory (the location is the
 * innermost shown frame: it called the allocator — in the Python view, the
 * innermost Python frame) and by total memory (the location is anywhere on
 * the stack, counted once per stack). */
#include <stdlib.h>
#include <string.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"
#include "cli/report/formats/summary.h"
#include "cli/util/json_writer.h"
#include "cli/util/visible.h"

#define VIEW_MAX 4096

typedef struct row {
	ma_loc loc;
	ma_count own, total;
	size_t last_stack;      /* + 1: the last stack counted in total */
	ma_count base_own, base_total;   /* the same in --base's capture */
	size_t base_last;
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

/* A row's name and where ("file:line", or the address when only the
 * module is known). */
static void row_label(const row *r, char *name, size_t nlen, char *where, size_t wlen)
{
	ma_loc_where(&r->loc, where, wlen);
	if (!where[0] && !r->loc.function && r->loc.module && !r->loc.python)
		snprintf(where, wlen, "0x%llx", (unsigned long long)r->loc.frame);
	if (r->loc.frame == 0 && !r->loc.function && !r->loc.python)
		snprintf(name, nlen, "(no stack recorded)");
	else
		ma_loc_name(&r->loc, name, nlen);
}

/* ------------------------------------------------------------ --base */

static int add_stacks(table *t, const ma_analysis *a, const ma_report_opts *o, int base, ma_count *all);

static int64_t delta(uint64_t now, uint64_t then)
{
	return (int64_t)(now - then);
}

/* The change the rows are sorted by. */
static uint64_t row_change(const row *r, ma_sort by)
{
	int64_t d = by == MA_SORT_TOTAL ? delta(r->total.bytes, r->base_total.bytes)
		  : by == MA_SORT_COUNT ? delta(r->own.count, r->base_own.count)
					: delta(r->own.bytes, r->base_own.bytes);
	return d < 0 ? (uint64_t)-d : (uint64_t)d;
}

static int cmp_change(const void *x, const void *y)
{
	const row *p = x, *q = y;
	uint64_t a = row_change(p, g_sort), b = row_change(q, g_sort);
	if (a != b)
		return a < b ? 1 : -1;
	return cmp_row(x, y);
}

/* "+1,234" / "-1,234" / "0". */
static const char *fmt_delta(int64_t d, char *buf, size_t len)
{
	char n[32];
	ma_fmt_count(d < 0 ? (uint64_t)-d : (uint64_t)d, n, sizeof n);
	snprintf(buf, len, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", n);
	return buf;
}

/* NEW minus the base capture, per location (matched by function and
 * file:line, so captures of different builds compare). */
static int summary_diff(const ma_report_args *args, const ma_analysis *a, table *t, ma_count all)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *b;
	int rc = ma_report_analyze_base(args, &b);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_count ball = { 0, 0 };
	if (add_stacks(t, b, o, 1, &ball) < 0) {
		fprintf(stderr, "memattach report: out of memory building the summary\n");
		ma_analysis_free(b);
		return MA_EXIT_ERROR;
	}
	size_t changed = 0;
	for (size_t i = 0; i < t->n; i++)
		if (row_change(&t->rows[i], o->sort) || t->rows[i].own.count != t->rows[i].base_own.count)
			t->rows[changed++] = t->rows[i];
	g_sort = o->sort;
	if (changed > 1)
		qsort(t->rows, changed, sizeof *t->rows, cmp_change);
	size_t shown = changed < o->max ? changed : o->max;
	FILE *f = args->out;
	char d1[40], b1[32], b2[32], name[512], where[512];
	fprintf(f, "Change in the memory %s: %s B (%s in this capture, %s in the base %s)%s\n",
		ma_metric_title(o->metric), fmt_delta(delta(all.bytes, ball.bytes), d1, sizeof d1),
		ma_fmt_bytes(all.bytes, b1, sizeof b1), ma_fmt_bytes(ball.bytes, b2, sizeof b2), o->base,
		a->filtered ? " (filtered)" : "");
	fprintf(f, "Top %zu of %zu changed locations by %s change (this capture minus the base)\n\n",
		shown, changed, o->sort == MA_SORT_TOTAL ? "total" : o->sort == MA_SORT_COUNT ? "count" : "own");
	fprintf(f, "%15s %15s %12s  %s\n", "own change", "total change", ma_metric_unit(o->metric), "location");
	for (size_t i = 0; i < shown; i++) {
		const row *r = &t->rows[i];
		char od[40], td[40], cd[40];
		char vname[2048], vwhere[2048];
		row_label(r, name, sizeof name, where, sizeof where);
		fprintf(f, "%15s %15s %12s  %s%s%s\n", fmt_delta(delta(r->own.bytes, r->base_own.bytes), od, sizeof od),
			fmt_delta(delta(r->total.bytes, r->base_total.bytes), td, sizeof td),
			fmt_delta(delta(r->own.count, r->base_own.count), cd, sizeof cd),
			ma_visible(name, vname, sizeof vname), where[0] ? "  " : "",
			ma_visible(where, vwhere, sizeof vwhere));
	}
	ma_analysis_free(b);
	return MA_EXIT_OK;
}

/* Adds every stack of a to the rows (base: into the base_ fields); the
 * metric's sum goes to *all.  -1 on OOM. */
static int add_stacks(table *t, const ma_analysis *a, const ma_report_opts *o, int base, ma_count *all)
{
	ma_loc *view = malloc(VIEW_MAX * sizeof *view);
	if (!view)
		return -1;
	for (size_t i = 0; i < a->nstacks; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		ma_count v = ma_stack_value(s, o->metric);
		if (!v.count && !v.bytes)
			continue;
		all->count += v.count;
		all->bytes += v.bytes;
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
			row *r = find(t, &view[k]);
			if (!r) {
				free(view);
				return -1;
			}
			ma_count *own = base ? &r->base_own : &r->own, *total = base ? &r->base_total : &r->total;
			size_t *last = base ? &r->base_last : &r->last_stack;
			if (k == own_k) {
				own->count += v.count;
				own->bytes += v.bytes;
			}
			if (*last != i + 1) {   /* recursion: once per stack */
				*last = i + 1;
				total->count += v.count;
				total->bytes += v.bytes;
			}
		}
	}
	free(view);
	return 0;
}

/* A location's fields in JSON (the schema of summary and tree --json). */
void ma_report_json_loc(ma_json *j, const ma_loc *l)
{
	char name[512];
	ma_json_str(j, "function", l->function ? l->function : ma_loc_name(l, name, sizeof name));
	ma_json_str(j, "file", l->file);
	ma_json_u64(j, "line", l->line);
	ma_json_str(j, "module", l->python ? NULL : l->module);
	ma_json_bool(j, "python", l->python);
	ma_json_bool(j, "inlined", l->inlined);
}

static void summary_json(const ma_report_args *args, const ma_analysis *a, const table *t, size_t shown,
			 size_t ranked, ma_count all, const ma_tree *inv)
{
	const ma_report_opts *o = &args->opts;
	ma_json j;
	ma_json_init(&j, args->out, 1);
	ma_json_object(&j, NULL);
	ma_json_str(&j, "memory", ma_metric_name(o->metric));
	ma_json_str(&j, "sort", o->sort == MA_SORT_TOTAL ? "total" : o->sort == MA_SORT_COUNT ? "count" : "own");
	ma_json_bool(&j, "inverted", inv != NULL);
	ma_json_bool(&j, "filtered", a->filtered);
	ma_json_u64(&j, "bytes", all.bytes);
	ma_json_u64(&j, "count", all.count);
	ma_json_u64(&j, "locations", t->n);
	ma_json_u64(&j, "ranked", ranked);
	if (a->sample_interval) {
		ma_json_object(&j, "sampled");
		ma_json_u64(&j, "interval", a->sample_interval);
		ma_json_end(&j);
	} else {
		ma_json_null(&j, "sampled");
	}
	ma_json_array(&j, "top");
	for (size_t i = 0; i < shown; i++) {
		const row *r = &t->rows[i];
		ma_json_object(&j, NULL);
		ma_report_json_loc(&j, &r->loc);
		ma_json_u64(&j, "own_bytes", r->own.bytes);
		ma_json_u64(&j, "own_count", r->own.count);
		ma_json_u64(&j, "total_bytes", r->total.bytes);
		ma_json_u64(&j, "total_count", r->total.count);
		if (a->sample_interval) {
			ma_json_u64(&j, "own_error_bytes", ma_report_error_bytes(a, r->own.bytes));
			ma_json_u64(&j, "total_error_bytes", ma_report_error_bytes(a, r->total.bytes));
		}
		if (inv)
			ma_summary_callers_json(&j, inv, &r->loc, o->metric);
		ma_json_end(&j);
	}
	ma_json_end(&j);
	ma_json_end(&j);
	fputc('\n', args->out);
}

int ma_report_summary(const ma_report_args *args)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	table t = { 0 };
	ma_count all = { 0, 0 };
	if (add_stacks(&t, a, o, 0, &all) < 0)
		goto oom;
	if (o->base && args->json) {
		fprintf(stderr, "memattach report: summary --json has no --base form; drop one of them\n");
		rc = MA_EXIT_USAGE;
	} else if (o->base && o->inverted) {
		fprintf(stderr, "memattach report: summary --inverted has no --base form; use tree --inverted "
			"--base, or drop one of them\n");
		rc = MA_EXIT_USAGE;
	} else if (o->base) {
		rc = summary_diff(args, a, &t, all);
	}
	if (o->base) {
		free(t.rows);
		free(t.slots);
		ma_analysis_free(a);
		return rc;
	}
	g_sort = o->sort;
	if (t.n > 1)
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
	/* --inverted: bottom-up, each site with the callers it was reached from */
	ma_tree *inv = o->inverted ? ma_summary_callers_tree(a, o) : NULL;
	if (o->inverted && !inv)
		goto oom;
	if (args->json) {
		summary_json(args, a, &t, shown, ranked, all, inv);
		ma_tree_free(inv);
		free(t.rows);
		free(t.slots);
		ma_analysis_free(a);
		return MA_EXIT_OK;
	}
	fprintf(f, "Memory %s: %s (%s B) in %s %s%s%s\n", ma_metric_title(o->metric),
		ma_fmt_bytes(all.bytes, b1, sizeof b1), ma_fmt_count(all.bytes, b2, sizeof b2),
		ma_fmt_count(all.count, b3, sizeof b3),
		ma_metric_unit(o->metric),
		a->filtered ? " (filtered)" : "", ma_report_lost_mark(a));
	ma_report_lost_line(a, f);
	ma_report_sampled_line(a, f);
	ma_report_attribution(a, f);
	fprintf(f, "Top %zu of %zu locations by %s (own: the location called the allocator; "
		"total: with its callees)\n", shown, t.n,
		o->sort == MA_SORT_TOTAL ? "total" : o->sort == MA_SORT_COUNT ? "count" : "own");
	if (ranked < t.n)
		fprintf(f, "(%zu locations that allocate nothing themselves are left out: --sort total lists them)\n",
			t.n - ranked);
	if (inv)
		fprintf(f, "Bottom-up (--inverted): under each location, the callers its memory came through\n");
	fputc('\n', f);
	int smp = a->sample_interval != 0;
	fprintf(f, "%15s %7s %*s%15s %7s %12s  %s\n", "own bytes", "own%", smp ? 14 : 0,
		smp ? "\u00b1 own    " : "", "total bytes", "total%", ma_metric_unit(o->metric), "location");
	for (size_t i = 0; i < shown; i++) {
		const row *r = &t.rows[i];
		char ob[32], tb[32], cn[32], eb[40] = "";
		row_label(r, name, sizeof name, where, sizeof where);
		char vname[2048], vwhere[2048];
		if (smp) {
			char e[32];
			snprintf(eb, sizeof eb, "\u00b1%-12s ", ma_fmt_count(ma_report_error_bytes(a, r->own.bytes),
									  e, sizeof e));
		}
		fprintf(f, "%15s %6.2f%% %s%15s %6.2f%% %12s  %s%s%s\n",
			ma_fmt_count(r->own.bytes, ob, sizeof ob), pct(r->own.bytes, all.bytes), eb,
			ma_fmt_count(r->total.bytes, tb, sizeof tb), pct(r->total.bytes, all.bytes),
			ma_fmt_count(r->own.count, cn, sizeof cn), ma_visible(name, vname, sizeof vname),
			where[0] ? "  " : "", ma_visible(where, vwhere, sizeof vwhere));
		if (inv)
			ma_summary_callers_text(f, inv, &r->loc, o->metric, all.bytes);
	}
	ma_tree_free(inv);
	free(t.rows);
	free(t.slots);
	ma_analysis_free(a);
	return MA_EXIT_OK;
oom:
	fprintf(stderr, "memattach report: out of memory building the summary\n");
	free(t.rows);
	free(t.slots);
	ma_analysis_free(a);
	return MA_EXIT_ERROR;
}

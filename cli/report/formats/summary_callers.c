/* summary_callers.c — `summary --inverted`: bottom-up, as heaptrack's
 * bottom-up table: each top location (an allocation site, by own) with
 * the callers its memory came through, biggest first.  The callers are
 * the second level of the inverted call tree (calltree.c), which folds
 * allocator wrappers and picks frames exactly as the rows do. */
#include "cli/report/formats/summary.h"
#include "cli/util/visible.h"

#define CALLERS 3               /* shown per location */

/* The inverted tree's first-level node of location l, or 0. */
static uint32_t site_of(const ma_tree *t, const ma_loc *l)
{
	for (uint32_t c = t->nodes[0].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling)
		if (ma_loc_same(&t->nodes[c].loc, l, 1))
			return c;
	return 0;
}

ma_tree *ma_summary_callers_tree(const ma_analysis *a, const ma_report_opts *o)
{
	ma_report_opts io = *o;
	io.inverted = 1;
	io.callers = io.callees = NULL;
	return ma_tree_build(a, &io, 1);
}

void ma_summary_callers_text(FILE *f, const ma_tree *t, const ma_loc *l, ma_metric m, uint64_t all)
{
	uint32_t s = site_of(t, l), k = 0;
	char b[32], name[512], where[512], vn[2048], vw[2048];
	for (uint32_t c = s ? t->nodes[s].first_child : UINT32_MAX; c != UINT32_MAX && k < CALLERS;
	     c = t->nodes[c].next_sibling, k++) {
		ma_count v = ma_tree_value(&t->nodes[c], m);
		ma_loc_name(&t->nodes[c].loc, name, sizeof name);
		ma_loc_where(&t->nodes[c].loc, where, sizeof where);
		fprintf(f, "%15s %6.2f%%   %s from %s%s%s\n", ma_fmt_count(v.bytes, b, sizeof b),
			all ? 100.0 * (double)v.bytes / (double)all : 0.0, k ? "    " : "\u2190 called",
			ma_visible(name, vn, sizeof vn), *where ? "  " : "", ma_visible(where, vw, sizeof vw));
	}
}

void ma_summary_callers_json(ma_json *j, const ma_tree *t, const ma_loc *l, ma_metric m)
{
	uint32_t s = site_of(t, l), k = 0;
	ma_json_array(j, "callers");
	for (uint32_t c = s ? t->nodes[s].first_child : UINT32_MAX; c != UINT32_MAX && k < CALLERS;
	     c = t->nodes[c].next_sibling, k++) {
		ma_count v = ma_tree_value(&t->nodes[c], m);
		ma_json_object(j, NULL);
		ma_report_json_loc(j, &t->nodes[c].loc);
		ma_json_u64(j, "bytes", v.bytes);
		ma_json_u64(j, "count", v.count);
		ma_json_end(j);
	}
	ma_json_end(j);
}

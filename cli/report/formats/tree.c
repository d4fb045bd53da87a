/* tree.c — `memattach report tree`: the merged call tree from the
 * outermost frames down, biggest branches first, drawn with box
 * characters; branches below --min-percent of the total are folded into
 * one "smaller" line per parent. */
#include <stdlib.h>
#include <string.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"
#include "cli/util/json_writer.h"
#include "cli/util/visible.h"

typedef struct drawer {
	FILE *f;
	const ma_tree *t;
	ma_metric m;
	uint64_t whole, min_bytes;
	char prefix[4096];
} drawer;

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void line(drawer *d, const char *branch, ma_count v, const char *label)
{
	char b[32], c[32];
	fprintf(d->f, "%s%s%s B  %.2f%%  %s  %s\n", d->prefix, branch, ma_fmt_count(v.bytes, b, sizeof b),
		pct(v.bytes, d->whole), ma_fmt_count(v.count, c, sizeof c), label);
}

/* "name  (file:line)", printable. */
#define LABEL_LEN 4200
static void node_label(const ma_tree *t, uint32_t c, char label[LABEL_LEN])
{
	char name[512], where[512], vname[2048], vwhere[2048];
	ma_visible(ma_loc_name(&t->nodes[c].loc, name, sizeof name), vname, sizeof vname);
	ma_visible(ma_loc_where(&t->nodes[c].loc, where, sizeof where), vwhere, sizeof vwhere);
	snprintf(label, LABEL_LEN, "%s%s%s%s", vname, where[0] ? "  (" : "", vwhere, where[0] ? ")" : "");
}

/* Draws child c's own children one level deeper (while the prefix has room). */
static void descend(drawer *d, size_t plen, int is_last, uint32_t c, void (*draw_children)(drawer *, uint32_t))
{
	if (plen + 8 < sizeof d->prefix) {
		strcpy(d->prefix + plen, is_last ? "   " : "│  ");
		draw_children(d, c);
		d->prefix[plen] = 0;
	}
}

static void draw(drawer *d, uint32_t node)
{
	const ma_tree *t = d->t;
	size_t plen = strlen(d->prefix);
	/* Shown children: at or above the threshold (they are sorted). */
	uint32_t last = UINT32_MAX;
	ma_count rest = { 0, 0 };
	size_t nrest = 0;
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
		ma_count v = ma_tree_value(&t->nodes[c], d->m);
		if (!v.bytes && !v.count)
			continue;
		if (v.bytes >= d->min_bytes && v.bytes)
			last = c;
		else {
			rest.bytes += v.bytes;
			rest.count += v.count;
			nrest++;
		}
	}
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
		ma_count v = ma_tree_value(&t->nodes[c], d->m);
		if (v.bytes < d->min_bytes || !v.bytes)
			continue;
		int is_last = c == last && !nrest;
		char label[LABEL_LEN];
		node_label(t, c, label);
		line(d, is_last ? "└─ " : "├─ ", v, label);
		descend(d, plen, is_last, c, draw);
		if (c == last)
			break;
	}
	if (nrest) {
		char label[128];
		snprintf(label, sizeof label, "(%zu smaller branch%s)", nrest, nrest == 1 ? "" : "es");
		line(d, "└─ ", rest, label);
	}
}

/* ------------------------------------------------------------ --base */

static uint64_t mag(int64_t d)
{
	return d < 0 ? (uint64_t)-d : (uint64_t)d;
}

static const char *signed_count(int64_t d, char *buf, size_t len)
{
	char n[32];
	snprintf(buf, len, "%s%s", d > 0 ? "+" : d < 0 ? "-" : "", ma_fmt_count(mag(d), n, sizeof n));
	return buf;
}

/* "+1,000 B  (2,000 → 3,000)  +1  label" */
static void diff_line(drawer *d, const char *branch, uint32_t node, const char *label)
{
	const ma_tree *t = d->t;
	ma_count now = t->nodes[node].value[d->m], then = ma_tree_base(t, node, d->m);
	char c[40], n1[32], n2[32], k[40];
	fprintf(d->f, "%s%s%s B  (%s → %s)  %s  %s\n", d->prefix, branch,
		signed_count(ma_tree_change(t, node, d->m), c, sizeof c), ma_fmt_count(then.bytes, n1, sizeof n1),
		ma_fmt_count(now.bytes, n2, sizeof n2), signed_count((int64_t)(now.count - then.count), k, sizeof k),
		label);
}

/* Children whose change is at least the threshold (they are sorted by
 * the size of their change); the others are only counted. */
static void draw_diff(drawer *d, uint32_t node)
{
	const ma_tree *t = d->t;
	size_t plen = strlen(d->prefix), nrest = 0;
	uint32_t last = UINT32_MAX;
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
		uint64_t ch = mag(ma_tree_change(t, c, d->m));
		if (ch && ch >= d->min_bytes)
			last = c;
		else if (ch)
			nrest++;
	}
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX && last != UINT32_MAX; c = t->nodes[c].next_sibling) {
		uint64_t ch = mag(ma_tree_change(t, c, d->m));
		if (!ch || ch < d->min_bytes)
			continue;
		int is_last = c == last && !nrest;
		char label[LABEL_LEN];
		node_label(t, c, label);
		diff_line(d, is_last ? "└─ " : "├─ ", c, label);
		descend(d, plen, is_last, c, draw_diff);
		if (c == last)
			break;
	}
	if (nrest)
		fprintf(d->f, "%s└─ (%zu smaller change%s)\n", d->prefix, nrest, nrest == 1 ? "" : "s");
}

/* This capture's tree minus --base's, by location path. */
static int tree_diff(const ma_report_args *args, const ma_analysis *a, const ma_tree *now)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *b;
	int rc = ma_report_analyze_base(args, &b);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_tree *bt = ma_tree_build(b, o, 1), *t = bt ? ma_tree_diff(now, bt, 1) : NULL;
	if (!t) {
		fprintf(stderr, "memattach report: out of memory building the call tree\n");
		ma_tree_free(bt);
		ma_analysis_free(b);
		return MA_EXIT_ERROR;
	}
	ma_tree_sort_change(t, o->metric);
	drawer d = { .f = args->out, .t = t, .m = o->metric };
	uint64_t big = now->nodes[0].value[o->metric].bytes, old = bt->nodes[0].value[o->metric].bytes;
	double mb = (double)(big > old ? big : old) * o->min_percent / 100.0;
	d.min_bytes = (uint64_t)mb + ((double)(uint64_t)mb < mb);
	fprintf(args->out, "Change in the memory %s%s: this capture minus %s (bytes, base → now, %s; "
		"changes below %g%% of the larger total folded)\n",
		ma_metric_title(o->metric), a->filtered ? ", filtered" : "", o->base, ma_metric_unit(o->metric),
		o->min_percent);
	diff_line(&d, "", 0, "(all)");
	draw_diff(&d, 0);
	ma_tree_free(t);
	ma_tree_free(bt);
	ma_analysis_free(b);
	return MA_EXIT_OK;
}

/* --json: the shown nodes in preorder, each with its parent's index (the
 * root is 0, parent -1); pruned as the text is, the folded branches of a
 * node summed in its "smaller" fields. */
static void json_node(ma_json *j, const drawer *d, uint32_t node, int64_t parent, int64_t *next)
{
	const ma_tree *t = d->t;
	int64_t id = (*next)++;
	ma_count v = ma_tree_value(&t->nodes[node], d->m), self = t->nodes[node].self[d->m];
	ma_count rest = { 0, 0 };
	ma_json_object(j, NULL);
	ma_json_i64(j, "id", id);
	ma_json_i64(j, "parent", parent);
	if (node)
		ma_report_json_loc(j, &t->nodes[node].loc);
	ma_json_u64(j, "bytes", v.bytes);
	ma_json_u64(j, "count", v.count);
	ma_json_u64(j, "self_bytes", self.bytes);
	ma_json_u64(j, "self_count", self.count);
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
		ma_count cv = ma_tree_value(&t->nodes[c], d->m);
		if (cv.bytes && cv.bytes < d->min_bytes) {
			rest.bytes += cv.bytes;
			rest.count += cv.count;
		}
	}
	ma_json_u64(j, "smaller_bytes", rest.bytes);
	ma_json_u64(j, "smaller_count", rest.count);
	ma_json_end(j);
	for (uint32_t c = t->nodes[node].first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling) {
		ma_count cv = ma_tree_value(&t->nodes[c], d->m);
		if (cv.bytes && cv.bytes >= d->min_bytes)
			json_node(j, d, c, id, next);
	}
}

static void tree_json(const ma_report_args *args, const ma_analysis *a, const drawer *d)
{
	const ma_report_opts *o = &args->opts;
	ma_json j;
	ma_json_init(&j, args->out, 1);
	ma_json_object(&j, NULL);
	ma_json_str(&j, "memory", ma_metric_name(o->metric));
	ma_json_str(&j, "view", o->callers ? "callers" : o->callees ? "callees" : o->inverted ? "inverted" : "top-down");
	ma_json_str(&j, "function", o->callers ? o->callers : o->callees);
	ma_json_bool(&j, "filtered", a->filtered);
	if (a->sample_interval) {
		ma_json_object(&j, "sampled");
		ma_json_u64(&j, "interval", a->sample_interval);
		ma_json_end(&j);
	} else {
		ma_json_null(&j, "sampled");
	}
	ma_json_double(&j, "min_percent", o->min_percent);
	ma_json_array(&j, "nodes");
	int64_t next = 0;
	json_node(&j, d, 0, -1, &next);
	ma_json_end(&j);
	ma_json_end(&j);
	fputc('\n', args->out);
}

int ma_report_tree(const ma_report_args *args)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_tree *t = ma_tree_build(a, o, 1);
	if (!t) {
		fprintf(stderr, "memattach report: out of memory building the call tree\n");
		ma_analysis_free(a);
		return MA_EXIT_ERROR;
	}
	const char *focus = o->callers ? o->callers : o->callees;
	if (focus && !t->nodes[0].value[MA_METRIC_TOTAL].count) {
		fprintf(stderr, "memattach report: no stack goes through a function named '%s'; "
				"give a name as the reports show it (summary --sort total lists them)\n", focus);
		ma_tree_free(t);
		ma_analysis_free(a);
		return MA_EXIT_USAGE;
	}
	if (o->base) {
		rc = args->json ? MA_EXIT_USAGE : tree_diff(args, a, t);
		if (args->json)
			fprintf(stderr, "memattach report: tree --json has no --base form; drop one of them\n");
		ma_tree_free(t);
		ma_analysis_free(a);
		return rc;
	}
	drawer d = { .f = args->out, .t = t, .m = o->metric };
	ma_count all = ma_tree_value(&t->nodes[0], o->metric);
	d.whole = all.bytes;
	/* the threshold in bytes, rounded up: a node exactly at P% stays */
	double mb = (double)all.bytes * o->min_percent / 100.0;
	d.min_bytes = (uint64_t)mb;
	if ((double)d.min_bytes < mb)
		d.min_bytes++;
	if (args->json) {
		tree_json(args, a, &d);
		ma_tree_free(t);
		ma_analysis_free(a);
		return MA_EXIT_OK;
	}
	char b[32];
	char view[600] = "";
	if (o->callers)
		snprintf(view, sizeof view, ", callers of %s", o->callers);
	else if (o->callees)
		snprintf(view, sizeof view, ", callees of %s", o->callees);
	else if (o->inverted)
		snprintf(view, sizeof view, ", inverted: allocation sites first");
	fprintf(args->out, "Call tree of the memory %s%s%s (bytes, %% of %s, %s; branches below %g%% folded)%s\n",
		ma_metric_title(o->metric), a->filtered ? ", filtered" : "", view,
		ma_fmt_bytes(all.bytes, b, sizeof b), ma_metric_unit(o->metric),
		o->min_percent, ma_report_lost_mark(a));
	ma_report_lost_line(a, args->out);
	ma_report_sampled_line(a, args->out);
	line(&d, "", all, "(all)");
	draw(&d, 0);
	ma_tree_free(t);
	ma_analysis_free(a);
	return MA_EXIT_OK;
}

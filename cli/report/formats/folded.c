/* folded.c — `memattach report folded`: one line per distinct call
 * path, "outer;...;inner BYTES", the input of flamegraph.pl, inferno and
 * speedscope.  Paths come from the merged call tree, so stacks that differ
 * only in addresses within the same functions make one line. */
#include <stdlib.h>
#include <string.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"
#include "cli/util/visible.h"

/* Frame names may not contain ';' (the separator) or line breaks. */
static size_t put_name(char *out, size_t room, const ma_loc *l)
{
	char name[512], vis[2048];
	ma_visible(ma_loc_name(l, name, sizeof name), vis, sizeof vis);
	size_t n = 0;
	for (const char *p = vis; *p && n + 1 < room; p++)
		out[n++] = *p == ';' ? ':' : (*p == '\n' || *p == '\r') ? ' ' : *p;
	return n;
}

static int emit(FILE *f, const ma_tree *t, ma_metric m, uint32_t node, char *path, size_t len, size_t cap)
{
	const ma_tree_node *n = &t->nodes[node];
	if (node) {
		if (len && len + 1 < cap)
			path[len++] = ';';
		len += put_name(path + len, cap - len, &n->loc);
		ma_count self = n->self[m], then = ma_tree_base_self(t, node, m);
		if (t->base && (self.bytes || then.bytes))   /* --base: "path BASE NOW" */
			fprintf(f, "%.*s %llu %llu\n", (int)len, path, (unsigned long long)then.bytes,
				(unsigned long long)self.bytes);
		else if (self.bytes)
			fprintf(f, "%.*s %llu\n", (int)len, path, (unsigned long long)self.bytes);
	}
	for (uint32_t c = n->first_child; c != UINT32_MAX; c = t->nodes[c].next_sibling)
		if (ma_tree_value(&t->nodes[c], m).bytes || ma_tree_base(t, c, m).bytes)
			emit(f, t, m, c, path, len, cap);
	return 0;
}

/* A sampled capture's figures are estimates, said on a first line that
 * folded readers take as a stack of weight 0 (two columns with --base):
 * flamegraph.pl and inferno skip a line without a count with a warning,
 * and speedscope only recognises the format when every line ends in
 * one.  No ';' in it: that would split it into frames. */
static void put_sampled_note(FILE *f, const ma_analysis *a, const ma_analysis *b)
{
	char now[512], base[512], line[1200];
	const char *tn = ma_report_sampled_short(a, now, sizeof now);
	const char *tb = b ? ma_report_sampled_short(b, base, sizeof base) : NULL;
	if (!tn && !tb)
		return;
	if (tn && tb)
		snprintf(line, sizeof line, "# memattach: the values are estimates: both captures were sampled "
			 "(this one: %s, the base: %s)", tn, tb);
	else
		snprintf(line, sizeof line, "# memattach: %s values are estimates: %s was sampled (%s)",
			 tn ? "the" : "the base's", tn ? "the capture" : "the base", tn ? tn : tb);
	for (char *p = line; *p; p++)
		if (*p == ';')
			*p = ',';
	fprintf(f, "%s%s\n", line, b ? " 0 0" : " 0");
}

int ma_report_folded(const ma_report_args *args)
{
	const ma_report_opts *o = &args->opts;
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_tree *t = ma_tree_build(a, o, 0);
	ma_analysis *b = NULL;
	ma_tree *bt = NULL;
	if (t && o->base) {      /* two columns, as difffolded.pl writes them */
		rc = ma_report_analyze_base(args, &b);
		if (rc != MA_EXIT_OK) {
			ma_tree_free(t);
			ma_analysis_free(a);
			return rc;
		}
		bt = ma_tree_build(b, o, 0);
		ma_tree *d = bt ? ma_tree_diff(t, bt, 0) : NULL;
		ma_tree_free(t);
		t = d;
	}
	size_t cap = 1 << 20;
	char *path = malloc(cap);
	if (!t || !path) {
		fprintf(stderr, "memattach report: out of memory building the call tree\n");
		free(path);
		ma_tree_free(t);
		ma_tree_free(bt);
		ma_analysis_free(b);
		ma_analysis_free(a);
		return MA_EXIT_ERROR;
	}
	put_sampled_note(args->out, a, b);
	/* Stacks with no frames recorded still count, under one name. */
	ma_count rootself = t->nodes[0].self[o->metric], rootbase = ma_tree_base_self(t, 0, o->metric);
	if (t->base && (rootself.bytes || rootbase.bytes))
		fprintf(args->out, "[no stack recorded] %llu %llu\n", (unsigned long long)rootbase.bytes,
			(unsigned long long)rootself.bytes);
	else if (rootself.bytes)
		fprintf(args->out, "[no stack recorded] %llu\n", (unsigned long long)rootself.bytes);
	emit(args->out, t, o->metric, 0, path, 0, cap);
	free(path);
	ma_tree_free(t);
	ma_tree_free(bt);
	ma_analysis_free(b);
	ma_analysis_free(a);
	return MA_EXIT_OK;
}

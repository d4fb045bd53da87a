/* flamegraph.c — `memattach report flamegraph FILE -o OUT.html`: one
 * self-contained HTML page (formats/flamegraph.html, embedded at
 * build time) with the capture's call tree as compact JSON in it.
 *
 * The page can filter by thread: the analysis keeps each stack's values
 * per allocating thread (ma_analysis_split_by_thread), so its own counting
 * rules, filters and snapshots give per-thread values, and the shared
 * merged call tree (ma_tree_build) maps every (thread, stack) entry to its
 * node.
 *
 * Data model (see the page's loader): a string table; the merged tree in
 * DFS preorder (parent as a delta, name and location string indices);
 * "leaves" = the analysis' stacks, i.e. (thread, stack) pairs, with their
 * node, thread and values per mode; the memory time series; and the
 * snapshots as sparse changes (leaf, bytes, blocks) since the previous one. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/analysis/analysis.h"
#include "cli/util/exit_codes.h"
#include "record_io.h"
#include "cli/report/report.h"
#include "cli/util/strtab.h"
#include "cli/util/visible.h"
#include "cli/util/u64map.h"
#include "cli/util/json_writer.h"
#include "cli/report/formats/flame.h"

#define MAX_POINTS 1500                 /* of the memory chart */

extern const unsigned char ma_flamegraph_html[];
extern const unsigned long ma_flamegraph_html_len;

/* ------------------------------------------------- output */

/* A JSON string that is also safe inside <script>: <, >, & are escaped;
 * controls (C0, DEL, C1) too, and a byte that is not UTF-8 becomes the
 * character of the same value, as in cli/util/json_writer.c. */
static void put_str(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		int n = ma_utf8_char(p, &cp);
		if (n == 0)
			cp = *p, n = 1;
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp < 0x20 || (cp >= 0x7f && cp <= 0xff && n == 1) || (cp >= 0x80 && cp <= 0x9f) ||
			 cp == '<' || cp == '>' || cp == '&')
			fprintf(f, "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, (size_t)n, f);
		p += n;
	}
	putc('"', f);
}

/* Lists of numbers: ma_json_put_item, not printf (hundreds of thousands
 * of numbers at 10M events; fprintf was a seventh of the time after the
 * replay).  Item index 1: a comma always. */
static void put_u64s(FILE *f, const char *key, const uint64_t *v, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		ma_json_put_item(f, i, v[i]);
	putc(']', f);
}

static void put_meta(FILE *f, const ma_analysis *a, const ma_report_args *args)
{
	static const char *modes[MA_METRICS] = { "peak", "leak", "total", "temp" };
	fprintf(f, "\"meta\":{\"command\":");
	put_str(f, a->command_line ? a->command_line : a->executable ? a->executable : "");
	fprintf(f, ",\"capture\":");
	put_str(f, args->capture);
	fprintf(f, ",\"pid\":%u,\"attached\":%d,\"duration_ns\":%llu,\"peak_bytes\":%llu,"
		"\"peak_blocks\":%llu,\"peak_time_ns\":%llu,\"leaked_bytes\":%llu,\"leaked_blocks\":%llu,"
		"\"total_bytes\":%llu,\"total_allocations\":%llu,\"mode\":\"%s\",\"filtered\":%d,\"note\":",
		a->pid, a->attached, (unsigned long long)a->duration_ns,
		(unsigned long long)a->peak_bytes, (unsigned long long)a->peak_blocks,
		(unsigned long long)a->peak_time_ns, (unsigned long long)a->live_bytes,
		(unsigned long long)a->live_blocks, (unsigned long long)a->total_bytes_allocated,
		(unsigned long long)a->total_allocations, modes[args->opts.metric], a->filtered);
	char note[1200] = "";
	char t[64];
	if (a->replay.truncated)
		snprintf(note, sizeof note,
			 "The capture is truncated (%s): this covers what was recorded up to %s.",
			 !a->replay.has_agent_trailer && !a->replay.has_capture_trailer
				 ? "no trailer: the recording was interrupted" : "the file ends mid-record",
			 ma_fmt_seconds(a->duration_ns, t, sizeof t));
	else if (a->has_capture_trailer && !a->complete)
		snprintf(note, sizeof note,
			 "The capture is incomplete (%s): this covers what was recorded up to %s.",
			 a->note ? a->note : "no reason given", ma_fmt_seconds(a->duration_ns, t, sizeof t));
	if (a->dropped_events)
		snprintf(note + strlen(note), sizeof note - strlen(note),
			 "%sThe agent dropped %llu events: totals are low by that much.",
			 *note ? " " : "", (unsigned long long)a->dropped_events);
	char lost[512];
	if (ma_report_attribution_note(a, lost, sizeof lost))
		snprintf(note + strlen(note), sizeof note - strlen(note), "%sNote: %s.", *note ? " " : "", lost);
	if (ma_report_lost_text(a, lost, sizeof lost))
		snprintf(note + strlen(note), sizeof note - strlen(note), "%s%s; totals and leaks are incomplete.",
			 *note ? " " : "", lost);
	if (*note)
		put_str(f, note);
	else
		fputs("null", f);
	/* the name it was started as beside the file it runs (a symlinked
	 * redis-server runs redis-check-rdb), and a container's own pid */
	fprintf(f, ",\"comm\":");
	put_str(f, a->comm ? a->comm : "");
	fprintf(f, ",\"executable\":");
	put_str(f, a->executable ? a->executable : "");
	fprintf(f, ",\"pid_in_namespace\":%u", a->pid_in_namespace);
	/* --sample: every figure of the page is an estimate (its header says so) */
	char smp[512];
	fprintf(f, ",\"sampled\":");
	if (ma_report_sampled_short(a, smp, sizeof smp))
		put_str(f, smp);
	else
		fputs("null", f);
	putc('}', f);
}

/* The tree's nodes in DFS preorder (a subtree is a contiguous range in the
 * page), biggest child first: order[new] = old, newid[old] = new.  -1 on OOM. */
static int preorder(const ma_tree *tr, uint32_t *order, uint32_t *newid)
{
	size_t nn = tr->nnodes;
	uint32_t *stk = malloc(nn * sizeof *stk);
	if (!stk)
		return -1;
	size_t sp = 0, k = 0;
	stk[sp++] = 0;
	while (sp) {
		uint32_t x = stk[--sp];
		newid[x] = (uint32_t)k;
		order[k++] = x;
		size_t first = sp;
		for (uint32_t c = tr->nodes[x].first_child; c != UINT32_MAX; c = tr->nodes[c].next_sibling)
			stk[sp++] = c;
		for (size_t l = first, r = sp; l + 1 < r; l++, r--) {
			uint32_t tmp = stk[l];
			stk[l] = stk[r - 1];
			stk[r - 1] = tmp;
		}
	}
	free(stk);
	return 0;
}

/* The nodes: parent deltas, name and location string indices, kind and
 * flags (1: Python's import machinery).  -1 on OOM. */
static int put_nodes(FILE *out, const ma_analysis *a, const ma_tree *tr, const uint32_t *order,
		     const uint32_t *newid)
{
	size_t nn = tr->nnodes;
	uint32_t *name = malloc(nn * sizeof *name), *where = malloc(nn * sizeof *where);
	ma_strtab str = { 0 };
	int rc = -1;
	if (!name || !where)
		goto out;
	char nb[600], wb[600];
	for (size_t i = 0; i < nn; i++) {
		const ma_loc *l = &tr->nodes[order[i]].loc;
		if (i == 0) {
			snprintf(nb, sizeof nb, "all");
			wb[0] = 0;
		} else {
			ma_loc_name(l, nb, sizeof nb);
			ma_loc_where(l, wb, sizeof wb);
			if (l->inlined)
				snprintf(wb + strlen(wb), sizeof wb - strlen(wb), "%s(inlined)", *wb ? " " : "");
		}
		name[i] = ma_strtab_intern(&str, nb);
		where[i] = ma_strtab_intern(&str, wb);
		if (name[i] == UINT32_MAX || where[i] == UINT32_MAX)
			goto out;
	}
	fprintf(out, ",\"strings\":[");
	for (size_t i = 0; i < str.n; i++) {
		if (i)
			putc(',', out);
		put_str(out, str.s[i]);
	}
	fprintf(out, "],\"node_parent\":[0");
	for (size_t i = 1; i < nn; i++)
		ma_json_put_item(out, 1, (unsigned)(i - newid[tr->nodes[order[i]].parent]));
	fprintf(out, "],\"node_name\":[");
	for (size_t i = 0; i < nn; i++)
		ma_json_put_item(out, i, name[i]);
	fprintf(out, "],\"node_loc\":[");
	for (size_t i = 0; i < nn; i++)
		ma_json_put_item(out, i, where[i]);
	fprintf(out, "],\"node_kind\":[");
	for (size_t i = 0; i < nn; i++)
		fprintf(out, i ? ",%d" : "%d", i ? flame_kind(&tr->nodes[order[i]].loc, a) : FK_UNKNOWN);
	fprintf(out, "],\"node_flags\":[");
	for (size_t i = 0; i < nn; i++)
		fprintf(out, i ? ",%d" : "%d", i && flame_is_import(&tr->nodes[order[i]].loc));
	putc(']', out);
	rc = 0;
out:
	ma_strtab_free(&str);
	free(name), free(where);
	return rc;
}

static void put_threads(FILE *out, const ma_analysis *a)
{
	fprintf(out, ",\"threads\":[");
	for (size_t i = 0; i < a->nthreads; i++) {
		/* a container's thread: the host's id, and its own in its namespace */
		uint32_t tid = a->threads[i].tid, host = ma_analysis_host_tid(a, tid);
		fprintf(out, "%s{\"tid\":%u,\"tid_in_namespace\":", i ? "," : "", host ? host : tid);
		fprintf(out, host ? "%u,\"name\":" : "null,\"name\":", tid);
		if (a->threads[i].name)
			put_str(out, a->threads[i].name);
		else
			fputs("null", out);
		putc('}', out);
	}
	putc(']', out);
}

static const char *value_keys[2 * MA_METRICS] = { "peak_b", "peak_n", "leak_b", "leak_n",
						   "total_b", "total_n", "temp_b", "temp_n" };

/* Leaves: the analysis' stacks, i.e. (thread, stack) pairs, with their
 * node, thread and values per metric.  -1 on OOM. */
static int put_stack_leaves(FILE *out, const ma_analysis *a, const ma_tree *tr, const uint32_t *newid)
{
	fprintf(out, ",\"leaf_node\":[");
	for (size_t i = 0; i < a->nstacks; i++)
		ma_json_put_item(out, i, newid[tr->stack_leaf[i]]);
	fprintf(out, "],\"leaf_thread\":[");
	ma_u64map tidx = { 0 };
	for (size_t i = 0; i < a->nthreads; i++)
		if (ma_u64map_put(&tidx, a->threads[i].tid, (uint32_t)i) < 0) {
			ma_u64map_free(&tidx);
			return -1;
		}
	for (size_t i = 0; i < a->nstacks; i++) {
		uint32_t tid = a->stacks[i].tid;
		uint32_t ti = tid ? ma_u64map_get(&tidx, tid) : UINT32_MAX;
		fprintf(out, i ? ",%d" : "%d", ti == UINT32_MAX ? -1 : (int)ti);
	}
	ma_u64map_free(&tidx);
	putc(']', out);
	for (int m = 0; m < 2 * MA_METRICS; m++) {
		fprintf(out, ",\"%s\":[", value_keys[m]);
		for (size_t i = 0; i < a->nstacks; i++) {
			ma_count v = ma_stack_value(&a->stacks[i], (ma_metric)(m / 2));
			ma_json_put_item(out, i, (m & 1 ? v.count : v.bytes));
		}
		putc(']', out);
	}
	return 0;
}

/* memory over time, at most MAX_POINTS (each bucket's highest heap).  -1 on OOM. */
static int put_series(FILE *out, const ma_analysis *a)
{
	size_t ns = a->nsamples, step = (ns + MAX_POINTS - 1) / MAX_POINTS;
	if (step < 1)
		step = 1;
	size_t np = (ns + step - 1) / step;
	uint64_t *pt = malloc((np + 1) * sizeof *pt), *ph = malloc((np + 1) * sizeof *ph),
		 *pr = malloc((np + 1) * sizeof *pr);
	if (!pt || !ph || !pr) {
		free(pt), free(ph), free(pr);
		return -1;
	}
	for (size_t i = 0; i < np; i++) {
		pt[i] = ph[i] = pr[i] = 0;
		for (size_t j = i * step; j < ns && j < (i + 1) * step; j++) {
			const ma_sample *s = &a->samples[j];
			if (j == i * step || s->heap_bytes > ph[i]) {
				ph[i] = s->heap_bytes;
				pt[i] = s->time_ns;
			}
			if (s->rss_bytes > pr[i])
				pr[i] = s->rss_bytes;
		}
	}
	fprintf(out, ",\"series\":{\"len\":%zu", np);
	put_u64s(out, "t", pt, np);
	put_u64s(out, "heap", ph, np);
	put_u64s(out, "rss", pr, np);
	putc('}', out);
	free(pt), free(ph), free(pr);
	return 0;
}

/* snapshots: changes since the previous one (none with --base) */
static void put_moments(FILE *out, const ma_analysis *a, int diff)
{
	size_t nsn = diff ? 0 : a->nsnapshots;
	fprintf(out, ",\"moments\":{\"len\":%zu,\"t\":[", nsn);
	for (size_t j = 0; j < nsn; j++)
		ma_json_put_item(out, j, a->snapshots[j].time_ns);
	fprintf(out, "],\"heap\":[");
	for (size_t j = 0; j < nsn; j++)
		ma_json_put_item(out, j, a->snapshots[j].live_bytes);
	fprintf(out, "],\"off\":[0");
	size_t off = 0;
	for (size_t j = 0; j < nsn; j++) {
		off += a->snapshots[j].nchanged;
		ma_json_put_item(out, 1, off);
	}
	fprintf(out, "],\"leaf\":[");
	for (size_t j = 0, e = 0; j < nsn; j++)
		for (size_t c = 0; c < a->snapshots[j].nchanged; c++, e++)
			ma_json_put_item(out, e, a->snapshots[j].changed[c].stack);
	fprintf(out, "],\"b\":[");
	for (size_t j = 0, e = 0; j < nsn; j++)
		for (size_t c = 0; c < a->snapshots[j].nchanged; c++, e++)
			ma_json_put_item(out, e, a->snapshots[j].changed[c].live.bytes);
	fprintf(out, "],\"blocks\":[");
	for (size_t j = 0, e = 0; j < nsn; j++)
		for (size_t c = 0; c < a->snapshots[j].nchanged; c++, e++)
			ma_json_put_item(out, e, a->snapshots[j].changed[c].live.count);
	fprintf(out, "]}");
}

/* The size histogram of the selected allocations (as stats --json). */
static void put_hist(FILE *out, const ma_analysis *a)
{
	fprintf(out, ",\"hist\":[");
	for (unsigned b = 0, k = 0; b < MA_HIST_BUCKETS; b++) {
		if (!a->hist[b].count)
			continue;
		fprintf(out, "%s[%llu,%llu,%llu,%llu]", k++ ? "," : "", (unsigned long long)ma_hist_min(b),
			(unsigned long long)ma_hist_max(b), (unsigned long long)a->hist[b].count,
			(unsigned long long)a->hist[b].bytes);
	}
	putc(']', out);
}

/* The page with the data (tr: a tree of a, or with --base the merged
 * tree of fd; range: NULL or the time-range data).  -1: OOM, -2: the
 * template has no data marker. */
static int write_page(FILE *out, const ma_report_args *args, const ma_analysis *a, const ma_tree *tr,
		      const ma_range *range, const flame_diff *fd)
{
	size_t nn = tr->nnodes;
	const char *h = (const char *)ma_flamegraph_html;
	const char *mark = "@@MEMATTACH_DATA@@";
	const char *at = strstr(h, mark);
	if (!at || !strstr(at, "@@MEMATTACH_RANGE@@"))
		return -2;
	uint32_t *order = malloc(nn * sizeof *order), *newid = malloc(nn * sizeof *newid);
	int rc = -1, diff = fd != NULL;
	if (!order || !newid || preorder(tr, order, newid) < 0)
		goto out;
	fwrite(h, 1, (size_t)(at - h), out);
	fprintf(out, "{\"v\":1,");
	put_meta(out, a, args);
	fprintf(out, ",\"python\":%d,\"inverted\":%d,\"base_capture\":", ma_analysis_has_python(a),
		args->opts.inverted);
	if (diff)
		put_str(out, args->opts.base);
	else
		fputs("null", out);
	char smp[512];
	fprintf(out, ",\"base_sampled\":");
	if (diff && ma_report_sampled_short(fd->base, smp, sizeof smp))
		put_str(out, smp);
	else
		fputs("null", out);
	if (put_nodes(out, a, tr, order, newid) < 0)
		goto out;
	if (diff) {
		if (flame_diff_put(out, fd, newid, put_str) < 0)
			goto out;
	} else {
		put_threads(out, a);
		if (put_stack_leaves(out, a, tr, newid) < 0)
			goto out;
	}
	if (put_series(out, a) < 0)
		goto out;
	put_moments(out, a, diff);
	fprintf(out, ",\"has_range\":%d", range != NULL);
	put_hist(out, a);
	putc('}', out);
	/* the range data in an element of its own, parsed when first used */
	at += strlen(mark);
	const char *rmark = "@@MEMATTACH_RANGE@@", *rat = strstr(at, rmark);
	if (!rat)
		goto out;
	fwrite(at, 1, (size_t)(rat - at), out);
	if (range)
		flame_range_put(out, range);
	else
		fputs("null", out);
	rat += strlen(rmark);
	fwrite(rat, 1, ma_flamegraph_html_len - (size_t)(rat - h), out);
	rc = 0;
out:
	free(order), free(newid);
	return rc;
}

/* --base: the base capture analysed per thread as this one, its tree,
 * and both merged (by function and file:line), with the maps the page's
 * per-thread leaves need.  Then the page.  MA_EXIT_OK, or an exit code
 * (printed); *r: write_page's result. */
static int diff_page(const ma_report_args *args, const ma_analysis *a, const ma_tree *tr, int *r)
{
	ma_report_args bargs = *args;
	bargs.capture = args->opts.base;
	ma_analyze_want want = { .by_thread = 1 };
	ma_analysis *b;
	int rc = ma_report_analyze_with(&bargs, &want, &b);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_report_opts o = args->opts;
	o.inverted = 0;          /* the page inverts */
	ma_tree *bt = ma_tree_build(b, &o, 1), *d = NULL;
	uint32_t *now_to = malloc((tr->nnodes + 1) * sizeof *now_to);
	uint32_t *base_to = bt ? malloc((bt->nnodes + 1) * sizeof *base_to) : NULL;
	if (base_to)
		d = ma_tree_diff_mapped(tr, bt, 1, now_to, base_to);
	*r = -1;
	if (d) {
		flame_diff fd = { a, b, tr, bt, now_to, base_to };
		*r = write_page(args->out, args, a, d, NULL, &fd);
	}
	if (d)
		ma_tree_free(d);
	if (bt)
		ma_tree_free(bt);
	free(now_to), free(base_to);
	ma_analysis_free(b);
	return MA_EXIT_OK;
}

int ma_report_flamegraph(const ma_report_args *args)
{
	if (args->out == stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "memattach report: the flame graph is an HTML page: give -o OUT.html\n");
		return MA_EXIT_USAGE;
	}
	ma_analysis *a;
	ma_analyze_want want = { .snapshots = FLAME_MOMENTS, .by_thread = 1, .range = !args->opts.base };
	int rc = ma_report_analyze_with(args, &want, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	/* a node is one (function, call line): the box says file:line; the
	 * tree is top-down, --inverted only sets the page's toggle */
	ma_report_opts o = args->opts;
	o.inverted = 0;
	ma_tree *tr = ma_tree_build(a, &o, 1);
	ma_range range = { 0 };
	int rr = 1, r = -1;
	if (tr && args->opts.base)
		rc = diff_page(args, a, tr, &r);
	else if (tr && (rr = ma_analysis_range(a, &range)) >= 0)
		r = write_page(args->out, args, a, tr, rr ? NULL : &range, NULL);
	if (rc != MA_EXIT_OK)
		r = 0;
	if (r == -2) {
		fprintf(stderr, "memattach report: the flame graph page template is broken (no data marker)\n");
		rc = MA_EXIT_ERROR;
	} else if (r < 0) {
		fprintf(stderr, "memattach report: out of memory building the flame graph\n");
		rc = MA_EXIT_ERROR;
	}
	ma_range_free(&range);
	if (tr)
		ma_tree_free(tr);
	ma_analysis_free(a);
	return rc;
}

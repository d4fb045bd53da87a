/* options.c — the options shared by the call-stack reports (which
 * memory, filters, --native, summary/tree knobs), metric helpers and the
 * progress bar. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/util/parse_units.h"
#include "cli/report/report.h"

void ma_report_opts_init(ma_report_opts *o)
{
	memset(o, 0, sizeof *o);
	o->metric = MA_METRIC_PEAK;
	o->max = 10;
	o->sort = MA_SORT_OWN;
	o->min_percent = 1.0;
}

void ma_report_opts_usage(FILE *f)
{
	fprintf(f,
		"which memory (summary, tree, folded, pprof, flamegraph):\n"
		"  --peak        blocks live when the live total was highest (default)\n"
		"  --leaks       blocks still live at the end of the capture\n"
		"  --total       everything allocated over the capture\n"
		"  --temporary   allocations freed before their thread's next allocation\n"
		"filters (every report, stats too, counts only the selected allocations):\n"
		"  --thread TID|NAME  allocations made by this thread (id, or the name reports\n"
		"                     show: its last; Python's thread name when known)\n"
		"  --min-size BYTES   ignore allocations smaller than this (4096, 1MiB...)\n"
		"  --time FROM:TO     allocations made between these seconds since start\n"
		"                     (either side may be empty: 5: or :2.5)\n"
		"  --native      show every native frame; for Python captures the default\n"
		"                shows Python frames and the native frames below the innermost\n"
		"summary: --max N (rows, default 10), --sort own|total|count\n"
		"tree:    --min-percent P (prune nodes below P%% of the total, default 1)\n"
		"allocator wrappers (zmalloc, g_malloc, palloc, sqlite3Malloc, xmalloc, strdup,\n"
		"PyMem_Malloc, ...) count as the allocator: own memory lands on their callers\n"
		"  --keep-wrappers   show them as locations of their own\n"
		"  --wrapper REGEX   more wrappers: whole function names (repeatable)\n"
		"compare (summary, tree, folded): --base OLD.memcap  this capture minus OLD, per\n"
		"  location (function and file:line: captures of different builds compare)\n"
		"views (tree, folded, flamegraph):\n"
		"  --inverted        bottom-up: allocation sites first, then who called them\n"
		"  --callers FUNC    who called FUNC: the stacks through it, from it outwards\n"
		"  --callees FUNC    what FUNC called: the stacks through it, from it inwards\n");
}

const char *ma_metric_name(ma_metric m)
{
	static const char *names[MA_METRICS] = { "peak", "leaks", "total", "temporary" };
	return names[m];
}

const char *ma_metric_title(ma_metric m)
{
	static const char *titles[MA_METRICS] = {
		"live at the peak", "live at the end (leaks)", "allocated in total",
		"allocated and freed at once (temporary: freed before the thread's next allocation)",
	};
	return titles[m];
}

const char *ma_metric_unit(ma_metric m)
{
	return m == MA_METRIC_TOTAL || m == MA_METRIC_TEMPORARY ? "allocations" : "blocks";
}

ma_count ma_stack_value(const ma_stack_stats *s, ma_metric m)
{
	switch (m) {
	case MA_METRIC_LEAKS: return s->live;
	case MA_METRIC_TOTAL: return s->alloc;
	case MA_METRIC_TEMPORARY: return s->temporary;
	default: return s->at_peak;
	}
}

/* "--opt VALUE" or "--opt=VALUE"; NULL when a is not opt. */
static int match(const char *a, const char *opt, int argc, char **argv, int *i, const char **val)
{
	size_t l = strlen(opt);
	if (strncmp(a, opt, l))
		return 0;
	if (a[l] == '=') {
		*val = a + l + 1;
		return 1;
	}
	if (a[l])
		return 0;
	*val = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}

/* Seconds ("1.5", "2s", "250ms") into ns; empty is `dflt`. */
static int parse_time(const char *s, size_t n, uint64_t dflt, uint64_t *out, char *err, size_t errlen)
{
	if (!n) {
		*out = dflt;
		return 0;
	}
	char buf[64];
	if (n >= sizeof buf) {
		snprintf(err, errlen, "--time: '%.*s' is not a time in seconds", (int)n, s);
		return -1;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	char e[200];
	if (ma_parse_duration(buf, out, e, sizeof e) < 0) {
		snprintf(err, errlen, "--time: %s", e);
		return -1;
	}
	return 0;
}

/* --wrapper REGEX: a whole function name (several --wrapper add up). */
static int parse_wrapper(ma_report_opts *o, const char *v, char *err, size_t errlen)
{
	if (!v || !*v) {
		snprintf(err, errlen, "--wrapper needs a regular expression of function names (e.g. 'my_alloc.*')");
		return -1;
	}
	char *old = o->wrapper_text;
	size_t n = (old ? strlen(old) + 1 : 0) + strlen(v) + 8;
	char *pat = malloc(n);
	regex_t *re = o->wrappers ? o->wrappers : malloc(sizeof *re);
	if (!pat || !re) {
		free(pat);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(pat, n, "%s%s(%s)", old ? old : "", old ? "|" : "", v);
	char full[4200];
	snprintf(full, sizeof full, "^(%s)$", pat);
	if (o->wrappers)
		regfree(re);
	int rc = regcomp(re, full, REG_EXTENDED | REG_NOSUB);
	free(old);
	o->wrapper_text = pat;
	o->wrappers = re;
	if (rc) {
		snprintf(err, errlen, "--wrapper '%s' is not a valid regular expression", v);
		free(re);
		o->wrappers = NULL;
		return -1;
	}
	return 1;
}

void ma_report_opts_free(ma_report_opts *o)
{
	if (o->wrappers) {
		regfree(o->wrappers);
		free(o->wrappers);
	}
	free(o->wrapper_text);
	o->wrappers = NULL;
	o->wrapper_text = NULL;
}

int ma_report_opts_parse(ma_report_opts *o, int argc, char **argv, int *i, char *err, size_t errlen)
{
	const char *a = argv[*i], *v = NULL;
	if (!strcmp(a, "--peak") || !strcmp(a, "--leaks") || !strcmp(a, "--total") || !strcmp(a, "--temporary")) {
		ma_metric m = a[2] == 'p' ? MA_METRIC_PEAK : a[2] == 'l' ? MA_METRIC_LEAKS
			    : a[3] == 'o' ? MA_METRIC_TOTAL : MA_METRIC_TEMPORARY;
		if (o->have_metric && o->metric != m) {
			snprintf(err, errlen, "--peak, --leaks, --total and --temporary choose one memory: give one of them");
			return -1;
		}
		o->metric = m;
		o->have_metric = 1;
		return 1;
	}
	if (!strcmp(a, "--native")) {
		o->native = 1;
		return 1;
	}
	if (match(a, "--thread", argc, argv, i, &v)) {
		if (!v || !*v) {
			snprintf(err, errlen, "--thread needs a thread id or name");
			return -1;
		}
		if (strspn(v, "0123456789") == strlen(v)) {
			uint64_t t;
			if (ma_parse_uint_range(v, 1, UINT32_MAX, "--thread", &t, err, errlen) < 0)
				return -1;
			o->filter.tid = (uint32_t)t;
			o->filter.thread_name = NULL;
		} else {
			o->filter.thread_name = v;
			o->filter.tid = 0;
		}
		return 1;
	}
	if (match(a, "--min-size", argc, argv, i, &v)) {
		if (!v) {
			snprintf(err, errlen, "--min-size needs a size (4096, 64KiB...)");
			return -1;
		}
		char e[200];
		if (ma_parse_size(v, &o->filter.min_size, e, sizeof e) < 0) {
			snprintf(err, errlen, "--min-size: %s", e);
			return -1;
		}
		return 1;
	}
	if (match(a, "--time", argc, argv, i, &v)) {
		const char *colon = v ? strchr(v, ':') : NULL;
		if (!colon) {
			snprintf(err, errlen, "--time needs FROM:TO in seconds since the start (e.g. 2:5.5, 3:, :1)");
			return -1;
		}
		uint64_t from, to;
		if (parse_time(v, (size_t)(colon - v), 0, &from, err, errlen) < 0 ||
		    parse_time(colon + 1, strlen(colon + 1), 0, &to, err, errlen) < 0)
			return -1;
		if (to && to < from) {
			snprintf(err, errlen, "--time %s: the end is before the start", v);
			return -1;
		}
		o->filter.from_ns = from;
		o->filter.to_ns = to;
		return 1;
	}
	if (match(a, "--base", argc, argv, i, &v)) {
		if (!v || !*v) {
			snprintf(err, errlen, "--base needs the capture to compare with (an older .memcap)");
			return -1;
		}
		o->base = v;
		return 1;
	}
	if (!strcmp(a, "--inverted")) {
		o->inverted = 1;
		return 1;
	}
	if (match(a, "--callers", argc, argv, i, &v) || match(a, "--callees", argc, argv, i, &v)) {
		int callers = a[7] == 'r';
		if (!v || !*v) {
			snprintf(err, errlen, "%s needs a function name (as the reports show it)",
				 callers ? "--callers" : "--callees");
			return -1;
		}
		if (callers ? o->callees : o->callers) {
			snprintf(err, errlen, "--callers and --callees: give one of them");
			return -1;
		}
		*(callers ? &o->callers : &o->callees) = v;
		return 1;
	}
	if (!strcmp(a, "--keep-wrappers")) {
		o->keep_wrappers = 1;
		return 1;
	}
	if (match(a, "--wrapper", argc, argv, i, &v))
		return parse_wrapper(o, v, err, errlen);
	if (match(a, "--max", argc, argv, i, &v)) {
		uint64_t n;
		if (!v) {
			snprintf(err, errlen, "--max needs a number of rows");
			return -1;
		}
		if (ma_parse_uint_range(v, 1, 1000000, "--max", &n, err, errlen) < 0)
			return -1;
		o->max = (unsigned)n;
		return 1;
	}
	if (match(a, "--sort", argc, argv, i, &v)) {
		if (v && !strcmp(v, "own"))
			o->sort = MA_SORT_OWN;
		else if (v && !strcmp(v, "total"))
			o->sort = MA_SORT_TOTAL;
		else if (v && !strcmp(v, "count"))
			o->sort = MA_SORT_COUNT;
		else {
			snprintf(err, errlen, "--sort takes own, total or count");
			return -1;
		}
		return 1;
	}
	if (match(a, "--min-percent", argc, argv, i, &v)) {
		char *end;
		double p = v ? strtod(v, &end) : -1;
		if (!v || end == v || *end || p < 0 || p > 100) {
			snprintf(err, errlen, "--min-percent takes a percentage from 0 to 100 (e.g. 0.5)");
			return -1;
		}
		o->min_percent = p;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ progress */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ma_progress_init(ma_progress *p, const char *what)
{
	p->what = what;
	p->start_ns = now_ns();
	p->shown = 0;
	p->tty = isatty(2);
}

void ma_progress_update(void *ctx, uint64_t done, uint64_t total)
{
	ma_progress *p = ctx;
	if (!p->tty || !total)
		return;
	if (!p->shown && now_ns() - p->start_ns < 1000000000ull)
		return;
	p->shown = 1;
	int pct = (int)(done * 100 / total);
	if (pct > 100)
		pct = 100;
	static const char bar[] = "##################################################";
	fprintf(stderr, "\r%s [%-50.*s] %3d%%", p->what, pct / 2, bar, pct);
	fflush(stderr);
}

void ma_progress_done(ma_progress *p)
{
	if (p->shown) {
		fprintf(stderr, "\r\033[K");
		fflush(stderr);
	}
	p->shown = 0;
}

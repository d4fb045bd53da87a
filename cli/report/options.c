/* options.c — the options shared by the call-stack reports (which
 * memory, filters, --native, summary/tree knobs), metric helpers and the
 * progress bar. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static int set_metric(ma_report_opts *o, ma_metric m, char *err, size_t errlen)
{
	if (o->have_metric && o->metric != m) {
		snprintf(err, errlen, "--peak, --leaks, --total and --temporary choose one memory: give one of them");
		return -1;
	}
	o->metric = m;
	o->have_metric = 1;
	return 1;
}

static int set_thread(ma_report_opts *o, const char *v, char *err, size_t errlen)
{
	if (!*v) {
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

static int set_time(ma_report_opts *o, const char *v, char *err, size_t errlen)
{
	const char *colon = strchr(v, ':');
	uint64_t from, to;
	if (!colon) {
		snprintf(err, errlen, "--time needs FROM:TO in seconds since the start (e.g. 2:5.5, 3:, :1)");
		return -1;
	}
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

static int set_sort(ma_report_opts *o, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "own"))
		o->sort = MA_SORT_OWN;
	else if (!strcmp(v, "total"))
		o->sort = MA_SORT_TOTAL;
	else if (!strcmp(v, "count"))
		o->sort = MA_SORT_COUNT;
	else {
		snprintf(err, errlen, "--sort takes own, total or count");
		return -1;
	}
	return 1;
}

/* --callers F / --callees F: one of them. */
static int set_focus(ma_report_opts *o, int callers, const char *v, char *err, size_t errlen)
{
	if (!*v) {
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

static int set_number(const char *v, uint64_t min, uint64_t max, const char *what,
		      unsigned *out, char *err, size_t errlen)
{
	uint64_t n;
	if (ma_parse_uint_range(v, min, max, what, &n, err, errlen) < 0)
		return -1;
	*out = (unsigned)n;
	return 1;
}

int ma_report_set_option(ma_report_args *args, int key, const char *v, char *err, size_t errlen)
{
	ma_report_opts *o = &args->opts;
	char e[200];
	switch (key) {
	case MA_RKEY_JSON:
		args->json = 1;
		return 1;
	case MA_RKEY_TOP:
		return set_number(v, 0, 100000, "--top", &args->top, err, errlen);
	case MA_RKEY_FRAMES:
		return set_number(v, 1, 100000, "--frames", &args->frames, err, errlen);
	case MA_RKEY_PEAK:
		return set_metric(o, MA_METRIC_PEAK, err, errlen);
	case MA_RKEY_LEAKS:
		return set_metric(o, MA_METRIC_LEAKS, err, errlen);
	case MA_RKEY_TOTAL:
		return set_metric(o, MA_METRIC_TOTAL, err, errlen);
	case MA_RKEY_TEMPORARY:
		return set_metric(o, MA_METRIC_TEMPORARY, err, errlen);
	case MA_RKEY_NATIVE:
		o->native = 1;
		return 1;
	case MA_RKEY_THREAD:
		return set_thread(o, v, err, errlen);
	case MA_RKEY_MIN_SIZE:
		if (ma_parse_size(v, &o->filter.min_size, e, sizeof e) < 0) {
			snprintf(err, errlen, "--min-size: %s", e);
			return -1;
		}
		return 1;
	case MA_RKEY_TIME:
		return set_time(o, v, err, errlen);
	case MA_RKEY_BASE:
		if (!*v) {
			snprintf(err, errlen, "--base needs the capture to compare with (an older .memcap)");
			return -1;
		}
		o->base = v;
		return 1;
	case MA_RKEY_ROOT: {
		struct stat st;
		int r = stat(v, &st);
		if (r < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "--root %s: %s; give the directory that is the target's root",
				 v, r < 0 ? strerror(errno) : "not a directory");
			return -1;
		}
		o->root = v;
		return 1;
	}
	case MA_RKEY_INVERTED:
		o->inverted = 1;
		return 1;
	case MA_RKEY_CALLERS:
	case MA_RKEY_CALLEES:
		return set_focus(o, key == MA_RKEY_CALLERS, v, err, errlen);
	case MA_RKEY_KEEP_WRAPPERS:
		o->keep_wrappers = 1;
		return 1;
	case MA_RKEY_WRAPPER:
		return parse_wrapper(o, v, err, errlen);
	case MA_RKEY_MAX:
		return set_number(v, 1, 1000000, "--max", &o->max, err, errlen);
	case MA_RKEY_SORT:
		return set_sort(o, v, err, errlen);
	case MA_RKEY_MIN_PERCENT: {
		char *end;
		double p = strtod(v, &end);
		if (end == v || *end || p < 0 || p > 100) {
			snprintf(err, errlen, "--min-percent takes a percentage from 0 to 100 (e.g. 0.5)");
			return -1;
		}
		o->min_percent = p;
		return 1;
	}
	default:
		return 0;
	}
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

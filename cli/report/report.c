/* report.c — the table of formats, the output file, and the shared way to
 * analyse a capture and complain about it (the report command's options
 * are parsed in cli/cmd/report_cmd.c). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* qsort_r */
#endif
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/analysis/analysis.h"
#include "cli/util/exit_codes.h"
#include "cli/util/outfile.h"
#include "cli/util/parse_units.h"
#include "cli/report/report.h"
#include "cli/symbols/capture_root.h"
#include "cli/symbols/resymbolize.h"
#include "cli/util/visible.h"

/* New formats (summary, tree, flamegraph, pprof, folded...) go here. */
static const ma_report_format formats[] = {
	{ "stats", "totals, peak, leaks, histogram, top stacks (--json for machines)", 1, ma_report_stats },
	{ "summary", "top locations by memory: own, total (with callees), count", 1, ma_report_summary },
	{ "tree", "the call tree from main down, biggest branches first", 1, ma_report_tree },
	{ "folded", "folded stacks (flamegraph.pl, inferno, speedscope)", 0, ma_report_folded },
	{ "pprof", "gzipped profile.proto for go tool pprof (needs -o FILE)", 0, ma_report_pprof },
	{ "flamegraph", "HTML flame graph (-o OUT.html): peak/leaks/total/temporary, a moment or range, inverted", 0, ma_report_flamegraph },
};

#define NFORMATS (sizeof formats / sizeof formats[0])

const ma_report_format *ma_report_formats(size_t *n)
{
	*n = NFORMATS;
	return formats;
}

const ma_report_format *ma_report_format_find(const char *name)
{
	for (size_t i = 0; i < NFORMATS; i++)
		if (!strcmp(formats[i].name, name))
			return &formats[i];
	return NULL;
}

/* A FIFO or a device would block in open() or never end: refuse it. */
static int check_capture(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fprintf(stderr, "memattach report: %s is not a regular file (a FIFO, device or directory); "
			"give a capture file (save a stream to a file first)\n", path);
		return MA_EXIT_BAD_CAPTURE;
	}
	return MA_EXIT_OK;
}

/* Is path the capture itself (by any path or hard link)?  Writing the
 * report there would lose the capture. */
static int same_file(const char *path, const char *capture)
{
	struct stat a, b;
	return stat(path, &a) == 0 && stat(capture, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Opens -o OUT (a new file beside it: cli/util/outfile.h) as args->out. */
static int open_output(ma_report_args *args, ma_outfile *of)
{
	char why[256];
	if (same_file(args->output, args->capture) ||
	    (args->opts.base && same_file(args->output, args->opts.base))) {
		fprintf(stderr, "memattach report: %s is the capture being read; "
			"write the report to another file\n", args->output);
		return MA_EXIT_OUTPUT_IS_INPUT;
	}
	int k = ma_outfile_open(of, args->output, why, sizeof why);
	if (k < 0) {
		fprintf(stderr, "memattach report: cannot write %s: %s\n", args->output, why);
		return MA_EXIT_OUTPUT;
	}
	int fd = dup(of->fd);
	args->out = fd < 0 ? NULL : fdopen(fd, "w");
	if (!args->out) {
		fprintf(stderr, "memattach report: cannot write %s: %s\n", args->output, strerror(errno));
		if (fd >= 0)
			close(fd);
		ma_outfile_abandon(of);
		return MA_EXIT_OUTPUT;
	}
	return MA_EXIT_OK;
}

/* Set when a report was made from a capture with damaged frames. */
static int capture_damaged;

int ma_report_run(const ma_report_format *fmt, ma_report_args *args)
{
	int rc = check_capture(args->capture);
	if (rc != MA_EXIT_OK)
		return rc;
	if (args->json && !fmt->json) {
		fprintf(stderr, "memattach report: %s has no JSON output; --json is for stats, summary and tree "
			"(use one of those, or drop --json)\n", fmt->name);
		return MA_EXIT_NO_JSON;
	}
	args->out = stdout;
	ma_outfile of = { .fd = -1, .dirfd = -1 };
	if (args->output && strcmp(args->output, "-")) {
		rc = open_output(args, &of);
		if (rc != MA_EXIT_OK)
			return rc;
	}
	rc = fmt->run(args);
	int werr = fflush(args->out) != 0 || ferror(args->out);
	int e = errno;
	if (args->out != stdout && fclose(args->out) != 0 && !werr) {
		werr = 1;
		e = errno;
	}
	if (werr && rc == MA_EXIT_OK) {
		fprintf(stderr, "memattach report: cannot write %s: %s\n",
			args->out == stdout && !args->output ? "standard output" : args->output, strerror(e));
		rc = MA_EXIT_OUTPUT;
	}
	if (args->out != stdout) {
		/* The report replaces OUT only when whole; else OUT keeps what it had. */
		if (rc != MA_EXIT_OK) {
			ma_outfile_abandon(&of);
		} else if ((e = -ma_outfile_commit(&of)) != 0) {
			fprintf(stderr, "memattach report: cannot write %s: %s\n", args->output, strerror(e));
			rc = MA_EXIT_OUTPUT;
		}
	}
	if (rc == MA_EXIT_OK && capture_damaged)
		rc = MA_EXIT_DAMAGED;   /* a whole report of what was readable */
	return rc;
}

int ma_report_check_thread(const ma_report_args *args, const ma_analysis *a)
{
	const ma_filter *f = &args->opts.filter;
	if (!f->tid && !f->thread_name)
		return MA_EXIT_OK;
	for (size_t i = 0; i < a->nthreads; i++) {
		const ma_thread_stats *t = &a->threads[i];
		if (f->tid ? t->tid == f->tid || ma_analysis_host_tid(a, t->tid) == f->tid
			   : t->selected || (t->name && !strcmp(t->name, f->thread_name)))
			return MA_EXIT_OK;
	}
	char tid[16];
	snprintf(tid, sizeof tid, "%u", (unsigned)f->tid);
	fprintf(stderr, "memattach report: --thread %s: no such thread in %s; "
		"`memattach report stats` lists its threads\n", f->tid ? tid : f->thread_name, args->capture);
	return MA_EXIT_USAGE;
}

void ma_report_warn_damage(const ma_analysis *a)
{
	const ma_capture_damage *d = &a->replay.damage;
	if (!d->ranges)
		return;
	capture_damaged = 1;
	uint64_t seen = a->replay.max_seq > a->first_seq ? a->replay.max_seq - a->first_seq : 0;
	uint64_t lost = seen > a->replay.events ? seen - a->replay.events : 0;
	char more[64] = "";
	if (d->ranges > 1)
		snprintf(more, sizeof more, " and %llu more damaged ranges",
			 (unsigned long long)(d->ranges - 1));
	fprintf(stderr,
		"warning: the capture is damaged: compressed bytes %llu-%llu (%s)%s, %llu bytes in all, could not be read and were skipped; "
		"the reports leave out what they held (at most %llu events between the first and last seen)\n",
		(unsigned long long)d->first_from, (unsigned long long)d->first_to, d->first_error,
		more, (unsigned long long)d->bytes, (unsigned long long)lost);
}

int ma_report_analyze(const ma_report_args *args, ma_analysis **out)
{
	return ma_report_analyze_snapshots(args, 0, out);
}

int ma_report_analyze_base(const ma_report_args *args, ma_analysis **out)
{
	ma_report_args b = *args;
	b.capture = args->opts.base;
	ma_analyze_want want = { 0 };
	return ma_report_analyze_with(&b, &want, out);
}

int ma_report_analyze_snapshots(const ma_report_args *args, unsigned snapshots, ma_analysis **out)
{
	ma_analyze_want want = { .snapshots = snapshots };
	return ma_report_analyze_with(args, &want, out);
}

/* One analysis of the capture at path as args and want ask: MA_EXIT_OK and
 * *out, or an exit code with the message printed. */
static int analyze_path(const ma_report_args *args, const ma_analyze_want *want, const char *path,
			ma_analysis **out)
{
	*out = NULL;
	ma_analysis *a = ma_analysis_new();
	if (!a) {
		fprintf(stderr, "memattach report: out of memory\n");
		return MA_EXIT_ERROR;
	}
	ma_filter filter = args->opts.filter;
	if (filter.tid)       /* a host thread id of a container's thread */
		filter.tid = ma_report_ns_tid(path, filter.tid);
	ma_analysis_set_filter(a, &filter);
	if (want->snapshots)
		ma_analysis_want_snapshots(a, want->snapshots);
	if (want->by_thread)
		ma_analysis_split_by_thread(a);
	if (want->range)
		ma_analysis_want_range(a);
	ma_progress prog;
	ma_progress_init(&prog, "reading capture");
	ma_analysis_set_progress(a, ma_progress_update, &prog);
	char err[600];
	int rrc = ma_analysis_run(a, path, err, sizeof err);
	ma_progress_done(&prog);
	ma_analysis_set_progress(a, NULL, NULL);
	if (rrc < 0) {
		fprintf(stderr, "memattach report: %s\n", err);
		ma_analysis_free(a);
		return rrc == MA_ERR_NOMEM ? MA_EXIT_ERROR : MA_EXIT_BAD_CAPTURE;
	}
	int trc = ma_report_check_thread(args, a);
	if (trc != MA_EXIT_OK) {
		ma_analysis_free(a);
		return trc;
	}
	*out = a;
	return MA_EXIT_OK;
}

/* Native frames and not one Symbol record: the capture's writer was killed
 * (or the disk filled up) before it could write them. */
static int lacks_symbols(const ma_analysis *a)
{
	if (a->nsymbols)
		return 0;
	for (size_t i = 0; i < a->nstacks; i++)
		for (uint32_t k = 0; k < a->stacks[i].nframes; k++)
			if (!(a->stacks[i].frames[k] >> 63))   /* bit 63: a Python frame */
				return 1;
	return 0;
}

/* The analysis of a copy of the capture symbolized from the files at hand
 * (sr: through the target's root, or this machine's; build ids checked),
 * or a itself when that gives no name. */
static ma_analysis *with_local_symbols(const ma_report_args *args, const ma_analyze_want *want,
				       ma_analysis *a, const struct ma_symbol_root *sr)
{
	const char *dir = getenv("TMPDIR");
	char tmp[4096], err[600];
	snprintf(tmp, sizeof tmp, "%s/memattach-symbols-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return a;
	close(fd);
	long n = ma_resymbolize(args->capture, tmp, 0, sr->prefix, err, sizeof err);
	ma_analysis *b = NULL;
	size_t named = 0;
	if (n > 0 && analyze_path(args, want, tmp, &b) == MA_EXIT_OK) {
		/* a file of another build gives a Symbol record without a name */
		for (size_t i = 0; i < b->nsymbols; i++)
			named += b->symbols[i].function && b->symbols[i].function[0];
		b->replay.damage = a->replay.damage;   /* the copy holds what was readable */
		ma_analysis_free(a);
		a = b;
	}
	if (named)
		fprintf(stderr, "note: the capture holds no symbols (its recording was cut off); "
				"%zu names were read %s, build ids checked "
				"(`memattach symbolize %s` stores them in the capture)\n", named, sr->from, args->capture);
	else
		fprintf(stderr, "warning: the capture holds no symbols, and none could be read %s: "
				"native frames are shown as addresses\n", sr->from);
	unlink(tmp);
	return a;
}

static void warn_incomplete(const ma_analysis *a)
{
	char t[64];
	ma_report_warn_damage(a);
	if (a->replay.truncated) {
		const char *why = !a->replay.has_agent_trailer && !a->replay.has_capture_trailer
			? "no trailer: the recording was interrupted"
			: "the file ends mid-record";
		fprintf(stderr,
			"warning: capture is truncated (%s): reports cover what was recorded up to %s (seq %llu)\n",
			why, ma_fmt_seconds(a->duration_ns, t, sizeof t),
			(unsigned long long)a->last_seq);
	} else if (a->has_capture_trailer && !a->complete) {
		char vis[1024];
		fprintf(stderr, "warning: the capture is incomplete (%s): reports cover what was recorded up to %s\n",
			a->note ? ma_visible(a->note, vis, sizeof vis) : "no reason given",
			ma_fmt_seconds(a->duration_ns, t, sizeof t));
	}
	if (a->dropped_events)
		fprintf(stderr, "warning: the agent dropped %llu events: totals are low by that much\n",
			(unsigned long long)a->dropped_events);
	char lost[512];
	if (ma_report_lost_text(a, lost, sizeof lost))
		fprintf(stderr, "warning: %s; totals, frees, peak and leaks are incomplete\n", lost);
	if (a->replay.late_events)
		fprintf(stderr, "warning: %llu events arrived after their watermark and were applied out of order\n",
			(unsigned long long)a->replay.late_events);
}

int ma_report_analyze_with(const ma_report_args *args, const ma_analyze_want *want, ma_analysis **out)
{
	ma_analysis *a;
	int rc = analyze_path(args, want, args->capture, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	if (lacks_symbols(a)) {
		struct ma_symbol_root sr;
		char err[PATH_MAX + 128];
		if (ma_symbol_root_choose(args->capture, args->opts.root, &sr, err, sizeof err) < 0) {
			fprintf(stderr, "memattach report: %s\n", err);
			ma_analysis_free(a);
			return MA_EXIT_USAGE;
		}
		a = with_local_symbols(args, want, a, &sr);
	}
	warn_incomplete(a);
	*out = a;
	return MA_EXIT_OK;
}

const char *ma_fmt_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (b < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)b);
		return buf;
	}
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, units[u]);
	return buf;
}

const char *ma_fmt_count(uint64_t n, char *buf, size_t len)
{
	char tmp[32];
	int k = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)n);
	size_t o = 0;
	for (int i = 0; i < k && o + 2 < len; i++) {
		if (i && (k - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

const char *ma_fmt_seconds(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%llu.%03llu s", (unsigned long long)(ns / 1000000000ull),
		 (unsigned long long)(ns / 1000000ull % 1000));
	return buf;
}

static uint64_t stack_key(const ma_stack_stats *s, int by)
{
	switch (by) {
	case 0: return s->alloc.bytes;
	case 1: return s->alloc.count;
	case 2: return s->live.bytes;
	default: return s->at_peak.bytes;
	}
}

static int cmp_stack(const void *x, const void *y, void *arg)
{
	const ma_analysis *a = ((const void **)arg)[0];
	int by = *(const int *)((const void **)arg)[1];
	const ma_stack_stats *p = &a->stacks[*(const uint32_t *)x], *q = &a->stacks[*(const uint32_t *)y];
	uint64_t kp = stack_key(p, by), kq = stack_key(q, by);
	if (kp != kq)
		return kp < kq ? 1 : -1;
	return p->id < q->id ? -1 : p->id > q->id;   /* stable across runs */
}

size_t ma_top_stacks(const ma_analysis *a, int by, size_t n, uint32_t *idx)
{
	uint32_t *all = malloc((a->nstacks ? a->nstacks : 1) * sizeof *all);
	if (!all)
		return 0;
	size_t m = 0;
	for (size_t i = 0; i < a->nstacks; i++)
		if (stack_key(&a->stacks[i], by))
			all[m++] = (uint32_t)i;
	const void *arg[2] = { a, &by };
	qsort_r(all, m, sizeof *all, cmp_stack, arg);
	if (m > n)
		m = n;
	memcpy(idx, all, m * sizeof *idx);
	free(all);
	return m;
}

uint64_t ma_report_rss_at_end(const ma_analysis *a)
{
	return a->nsamples ? a->samples[a->nsamples - 1].rss_bytes : 0;
}

/* What the numbers cannot show, as one sentence (NULL: nothing to say):
 * a tracked heap above RSS (pages allocated, not yet touched: calloc,
 * numpy's zeros, big buffers), or, attached, an RSS mostly not attributed. */
const char *ma_report_attribution_note(const ma_analysis *a, char *buf, size_t len)
{
	uint64_t rss = ma_report_rss_at_end(a);
	if (!rss)
		return NULL;
	uint64_t unattributed = rss > a->live_bytes ? rss - a->live_bytes : 0;
	if (a->live_bytes > rss)
		snprintf(buf, len, "the tracked heap is above RSS: allocated pages the program has not "
			 "touched yet (calloc, mmap, large buffers) count in the heap, and in RSS only "
			 "once written");
	else if (a->attached && unattributed > rss / 2)
		snprintf(buf, len, "most of RSS is not attributed: memory allocated before the attach "
			 "(its frees show as untracked), outside the hooked allocators (thread stacks, "
			 "code, static data), or the allocator's own overhead and free lists");
	else
		return NULL;
	return buf;
}

/* For a capture of a process that was already running: what the capture
 * cannot attribute.  RSS holds memory allocated before the attach and
 * outside the hooked allocators (stacks, code, static data, the
 * allocator's own overhead); the tracked heap is what has stacks.  For
 * any capture: the note above. */
void ma_report_attribution(const ma_analysis *a, FILE *f)
{
	char b1[32], b2[32], b3[32], b4[32], note[512];
	uint64_t rss = ma_report_rss_at_end(a);
	if (!rss)
		return;
	uint64_t unattributed = rss > a->live_bytes ? rss - a->live_bytes : 0;
	if (a->attached)
		fprintf(f, "RSS at attach %s, at the end %s; tracked live heap %s; not attributed %s "
			   "(allocated before attach or outside the hooked allocators)\n",
			ma_fmt_bytes(a->rss_at_start, b1, sizeof b1), ma_fmt_bytes(rss, b2, sizeof b2),
			ma_fmt_bytes(a->live_bytes, b3, sizeof b3),
			unattributed ? ma_fmt_bytes(unattributed, b4, sizeof b4) : "0 B");
	if (ma_report_attribution_note(a, note, sizeof note))
		fprintf(f, "note: %s\n", note);
}

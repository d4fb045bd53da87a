/* threshold.c — --dump-on-threshold: the stream followed (follow.c), and
 * the snapshot of the live set written at the crossing. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/analysis/analysis.h"
#include "cli/capture/capture_file.h"
#include "cli/util/exit_codes.h"
#include "record_io.h"
#include "cli/analysis/replay.h"
#include "cli/report/report.h"
#include "cli/cmd/follow.h"
#include "cli/cmd/threshold.h"
#include "cli/analysis/live_heap.h"
#include "cli/symbols/symbolize.h"
#include "procfs/procfs.h"

struct follow {
	struct ma_follow fo;
	ma_analysis *a;           /* fo.a */
	const struct ma_threshold_opts *o;
	uint64_t max_seen;
	int crossed;
	uint64_t cross_value, cross_time_ns, cross_rss;
	uint64_t cross_mono_ns;   /* when the CLI saw it */
};

/* After each record.  Heap: the analysis froze itself at the event that
 * reached the line (ma_analysis_freeze_at), so its live set is the one of
 * that moment however late the record came.  RSS: only known at a Tick,
 * when the analysis holds the live heap of that moment. */
static void check_crossing(void *ctx, const Memattach__Record *r)
{
	struct follow *f = ctx;
	if (f->crossed)
		return;
	if (f->o->on_heap) {
		if (f->a->live_bytes > f->max_seen)
			f->max_seen = f->a->live_bytes;
		if (!f->a->frozen)
			return;
		f->cross_time_ns = f->a->last_time_ns;
		f->cross_rss = f->fo.tick_rss;
		f->cross_value = f->a->live_bytes;
	} else {
		if (r->r_case != MEMATTACH__RECORD__R_TICK)
			return;
		if (r->tick->rss_bytes > f->max_seen)
			f->max_seen = r->tick->rss_bytes;
		if (r->tick->rss_bytes < f->o->bytes)
			return;
		f->cross_time_ns = r->tick->time_ns;
		f->cross_rss = r->tick->rss_bytes;
		f->cross_value = r->tick->rss_bytes;
	}
	f->crossed = 1;
	f->cross_mono_ns = ma_monotonic_ns();
}

static int write_snapshot(struct follow *f, const char *path, char *err, size_t errlen)
{
	char note[256];
	snprintf(note, sizeof(note),
		 "snapshot of the live set when %s reached %llu bytes (threshold %s) at %.3f s",
		 f->o->on_heap ? "the tracked heap" : "RSS",
		 (unsigned long long)f->cross_value, f->o->size_text,
		 (double)f->cross_time_ns / 1e9);
	return ma_follow_write_snapshot(&f->fo, path, f->o->pid, f->cross_time_ns, f->cross_rss, note,
					err, errlen);
}

static int crossed(void *ctx)
{
	return ((struct follow *)ctx)->crossed;
}

/* The snapshot and its message, at the crossing. */
static int take_snapshot(struct follow *f, const struct ma_threshold_opts *o)
{
	char err[1024], v1[32], v2[32];
	uint64_t t_write = ma_monotonic_ns();
	ma_analysis_finish(f->a);
	if (write_snapshot(f, o->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: cannot write the snapshot: %s\n", err);
		return MA_EXIT_OUTPUT;
	}
	/* CLOCK_MONOTONIC is one clock for the agent and us. */
	uint64_t at = f->fo.start_mono_ns + f->cross_time_ns;
	double delay_ms = f->cross_mono_ns > at ? (double)(f->cross_mono_ns - at) / 1e6 : 0;
	double write_ms = (double)(ma_monotonic_ns() - t_write) / 1e6;
	char taken[96];
	if (o->on_heap)   /* frozen at the crossing event, seen delay_ms later */
		snprintf(taken, sizeof(taken), "live set as of the crossing allocation (seen %.1f ms after it)",
			 delay_ms);
	else
		snprintf(taken, sizeof(taken), "live set taken %.1f ms after the crossing", delay_ms);
	ma_fmt_bytes(f->cross_value, v1, sizeof(v1));
	ma_fmt_bytes(f->a->live_bytes, v2, sizeof(v2));
	if (!o->quiet)
		fprintf(stderr, "memattach: %s reached %llu B = %s (threshold %s) at %.3f s; tracked live heap %s; %s, snapshot written in %.0f ms: %s\n",
			o->on_heap ? "the tracked heap" : "RSS",
			(unsigned long long)f->cross_value, v1, o->size_text,
			(double)f->cross_time_ns / 1e9, v2, taken, write_ms, o->out);
	fflush(stderr);
	return MA_EXIT_OK;
}

/* Not crossed: why (13 the target exited, 14 never reached). */
static int not_reached(const struct follow *f, const struct ma_threshold_opts *o, enum ma_capture_end end)
{
	char v1[32];
	ma_fmt_bytes(f->max_seen, v1, sizeof(v1));
	if (end == MA_END_STREAM) {
		fprintf(stderr, "memattach: pid %d exited before %s reached %s (highest seen: %s)\n",
			(int)o->pid, o->on_heap ? "the tracked heap" : "RSS", o->size_text, v1);
		return MA_EXIT_TARGET_GONE;
	}
	fprintf(stderr, "memattach: %s never reached %s%s (highest seen: %s)\n",
		o->on_heap ? "the tracked heap" : "RSS", o->size_text,
		end == MA_END_SIGNAL ? " before the interruption" : " within the duration", v1);
	return MA_EXIT_THRESHOLD_NOT_REACHED;
}

/* Who holds the memory, right away (summary on stdout), and the flame
 * graph page beside the snapshot: the report functions, called directly. */
static void show_snapshot(const struct ma_threshold_opts *o)
{
	char html[PATH_MAX + 8];
	size_t ol = strlen(o->out);
	if (ol > 7 && !strcmp(o->out + ol - 7, ".memcap"))
		snprintf(html, sizeof(html), "%.*s.html", (int)(ol - 7), o->out);
	else
		snprintf(html, sizeof(html), "%s.html", o->out);
	ma_report_args args = { .capture = o->out, .top = 10, .frames = 6 };
	ma_report_opts_init(&args.opts);
	fflush(stderr);
	ma_report_run(ma_report_format_find("summary"), &args);
	fflush(stdout);
	args.output = html;
	int frc = ma_report_run(ma_report_format_find("flamegraph"), &args);
	if (!o->quiet) {
		fprintf(stderr, "memattach: snapshot: %s\n", o->out);
		if (frc == MA_EXIT_OK)
			fprintf(stderr, "memattach: flame graph: %s\n", html);
	}
}

int ma_threshold_run(struct ma_capture *c, const struct ma_threshold_opts *o)
{
	struct follow f;
	int rc = MA_EXIT_OK;
	memset(&f, 0, sizeof(f));
	f.o = o;
	if (ma_follow_init(&f.fo) < 0) {
		fprintf(stderr, "memattach: out of memory\n");
		ma_session_send_stop(c->s);
		ma_session_cleanup(c->s);
		return MA_EXIT_ERROR;
	}
	f.a = f.fo.a;
	if (o->on_heap)
		ma_analysis_freeze_at(f.a, o->bytes);
	f.fo.after = check_crossing;
	f.fo.after_ctx = &f;
	c->s->on_record = ma_follow_on_record;
	c->s->on_record_ctx = &f.fo;
	c->hook = crossed;
	c->hook_ctx = &f;
	c->duration_ns = o->duration_ns;
	enum ma_capture_end end = ma_capture_follow(c);
	if (end == MA_END_ERROR)
		rc = MA_EXIT_ERROR;
	else if (f.crossed)
		rc = take_snapshot(&f, o);
	c->s->on_record = NULL;
	if (!c->s->eof)
		ma_capture_stop(c);
	if (rc == MA_EXIT_OK && !f.crossed)
		rc = not_reached(&f, o, end);
	ma_follow_free(&f.fo);
	ma_session_cleanup(c->s);
	if (rc == MA_EXIT_OK)
		show_snapshot(o);
	return rc;
}

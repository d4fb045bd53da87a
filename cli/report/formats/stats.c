/* stats.c — `memattach report stats`: the totals of a capture, for
 * people (text) and for programs (--json, whose key names are a public
 * interface: see the counting rules in analysis.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/analysis/analysis.h"
#include "cli/capture/agent_warning.h"
#include "cli/util/exit_codes.h"
#include "cli/util/json_writer.h"
#include "record_io.h"
#include "cli/report/report.h"
#include "cli/util/visible.h"

static void json_stack(ma_json *j, const ma_analysis *a, const ma_stack_stats *s, unsigned maxf)
{
	char name[512];
	ma_json_object(j, NULL);
	ma_json_u64(j, "stack_id", s->id);
	ma_json_u64(j, "bytes", s->alloc.bytes);
	ma_json_u64(j, "count", s->alloc.count);
	ma_json_u64(j, "live_bytes", s->live.bytes);
	ma_json_u64(j, "live_count", s->live.count);
	ma_json_u64(j, "at_peak_bytes", s->at_peak.bytes);
	ma_json_u64(j, "at_peak_count", s->at_peak.count);
	ma_json_array(j, "frames");
	for (uint32_t f = 0; f < s->nframes && f < maxf; f++) {
		ma_json_object(j, NULL);
		char addr[32];
		snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)s->frames[f]);
		ma_json_str(j, "address", addr);
		ma_json_str(j, "name", ma_analysis_frame_name(a, s->frames[f], name, sizeof name));
		ma_json_end(j);
	}
	ma_json_end(j);
	ma_json_end(j);
}

static void json_top(ma_json *j, const ma_analysis *a, const ma_report_args *args,
		     const char *key, int by, uint32_t *idx)
{
	size_t n = ma_top_stacks(a, by, args->top, idx);
	ma_json_array(j, key);
	for (size_t i = 0; i < n; i++)
		json_stack(j, a, &a->stacks[idx[i]], args->frames);
	ma_json_end(j);
}

static void stats_json(const ma_report_args *args, const ma_analysis *a, uint32_t *idx)
{
	ma_json j;
	ma_json_init(&j, args->out, 1);
	ma_json_object(&j, NULL);
	ma_json_str(&j, "capture", args->capture);
	ma_json_u64(&j, "pid", a->pid);
	if (a->pid_in_namespace)
		ma_json_u64(&j, "pid_in_namespace", a->pid_in_namespace);
	ma_json_str(&j, "command", a->command_line);
	ma_json_str(&j, "comm", a->comm);
	ma_json_str(&j, "executable", a->executable);
	ma_json_bool(&j, "attached", a->attached);
	ma_json_u64(&j, "start_realtime_ns", a->start_realtime_ns);
	ma_json_u64(&j, "duration_ns", a->duration_ns);
	ma_json_u64(&j, "agent_start_call_ns", a->start_call_ns);
	ma_json_u64(&j, "agent_start_call_cpu_ns", a->start_call_cpu_ns);
	ma_json_u64(&j, "events", a->replay.events);
	ma_json_bool(&j, "truncated", a->replay.truncated);
	ma_json_bool(&j, "complete", a->has_capture_trailer ? a->complete : a->has_agent_trailer);
	ma_json_u64(&j, "dropped_events", a->dropped_events);
	ma_report_lost_json(a, &j);
	ma_report_sampled_json(a, &j);
	ma_json_u64(&j, "total_allocations", a->total_allocations);
	ma_json_u64(&j, "total_frees", a->total_frees);
	ma_json_u64(&j, "total_bytes_allocated", a->total_bytes_allocated);
	ma_json_u64(&j, "total_bytes_freed", a->total_bytes_freed);
	ma_json_u64(&j, "untracked_frees", a->untracked_frees);
	ma_json_u64(&j, "implicit_frees", a->implicit_frees);
	ma_json_u64(&j, "ignored_unmaps", a->ignored_unmaps);
	ma_json_u64(&j, "peak_bytes", a->peak_bytes);
	ma_json_u64(&j, "peak_blocks", a->peak_blocks);
	ma_json_u64(&j, "peak_seq", a->peak_seq);
	ma_json_u64(&j, "peak_time_ns", a->peak_time_ns);
	ma_json_u64(&j, "leaked_bytes", a->live_bytes);
	ma_json_u64(&j, "leaked_allocations", a->live_blocks);
	ma_json_u64(&j, "temporary_allocations", a->temporary_allocations);
	ma_json_u64(&j, "temporary_bytes", a->temporary_bytes);
	ma_json_u64(&j, "rss_at_start", a->rss_at_start);
	ma_json_u64(&j, "rss_at_end", ma_report_rss_at_end(a));
	{
		uint64_t rss = ma_report_rss_at_end(a);
		ma_json_u64(&j, "not_attributed_bytes", rss > a->live_bytes ? rss - a->live_bytes : 0);
	}

	ma_json_object(&j, "by_allocator");
	for (uint32_t k = 1; k < 32; k++) {
		if (!strcmp(ma_kind_name(k), "unknown"))
			continue;
		ma_json_object(&j, ma_kind_name(k));
		ma_json_u64(&j, "count", a->kinds[k].count);
		ma_json_u64(&j, "bytes", a->kinds[k].bytes);
		ma_json_end(&j);
	}
	ma_json_end(&j);

	ma_json_object(&j, "by_event");
	for (uint32_t k = 1; k < MA_KINDS; k++) {
		if (!a->kinds[k].count)
			continue;
		ma_json_u64(&j, ma_kind_name(k), a->kinds[k].count);
	}
	ma_json_end(&j);

	ma_json_array(&j, "histogram");
	int lo = -1, hi = -1;
	for (int b = 0; b < MA_HIST_BUCKETS; b++)
		if (a->hist[b].count) {
			if (lo < 0)
				lo = b;
			hi = b;
		}
	for (int b = lo; lo >= 0 && b <= hi; b++) {
		ma_json_object(&j, NULL);
		ma_json_u64(&j, "min", ma_hist_min((unsigned)b));
		ma_json_u64(&j, "max", ma_hist_max((unsigned)b));
		ma_json_u64(&j, "count", a->hist[b].count);
		ma_json_u64(&j, "bytes", a->hist[b].bytes);
		ma_json_end(&j);
	}
	ma_json_end(&j);

	ma_json_array(&j, "threads");
	for (size_t i = 0; i < a->nthreads; i++) {
		const ma_thread_stats *t = &a->threads[i];
		ma_json_object(&j, NULL);
		uint32_t host = ma_analysis_host_tid(a, t->tid);
		ma_json_u64(&j, "tid", host ? host : t->tid);
		if (a->pid_in_namespace)
			ma_json_u64(&j, "tid_in_namespace", t->tid);
		ma_json_str(&j, "name", t->name);
		ma_json_u64(&j, "allocations", t->alloc.count);
		ma_json_u64(&j, "bytes", t->alloc.bytes);
		ma_json_u64(&j, "frees", t->frees);
		ma_json_u64(&j, "lost_allocations", t->lost_alloc.count);
		ma_json_u64(&j, "lost_allocation_bytes", t->lost_alloc.bytes);
		ma_json_u64(&j, "lost_frees", t->lost_frees);
		ma_json_end(&j);
	}
	ma_json_end(&j);

	ma_json_array(&j, "warnings");
	for (size_t i = 0; i < a->nwarnings; i++)
		ma_json_str(&j, NULL, a->warnings[i]);
	ma_json_end(&j);

	ma_json_u64(&j, "stacks", a->nstacks);
	json_top(&j, a, args, "top_stacks_by_bytes", 0, idx);
	json_top(&j, a, args, "top_stacks_by_count", 1, idx);
	json_top(&j, a, args, "top_leaks", 2, idx);
	ma_json_end(&j);
}

static void text_top(FILE *f, const ma_analysis *a, const ma_report_args *args,
		     const char *title, int by, uint32_t *idx)
{
	char b1[32], b2[32], b3[32], name[512], vis[2048];
	size_t n = ma_top_stacks(a, by, args->top, idx);
	if (!n)
		return;
	fprintf(f, "\nTop %zu stacks by %s:\n", n, title);
	for (size_t i = 0; i < n; i++) {
		const ma_stack_stats *s = &a->stacks[idx[i]];
		if (by == 2)
			fprintf(f, "  #%zu  %s live in %s blocks (of %s allocated)\n", i + 1,
				ma_fmt_bytes(s->live.bytes, b1, sizeof b1),
				ma_fmt_count(s->live.count, b2, sizeof b2),
				ma_fmt_bytes(s->alloc.bytes, b3, sizeof b3));
		else
			fprintf(f, "  #%zu  %s in %s allocations (live at end: %s)\n", i + 1,
				ma_fmt_bytes(s->alloc.bytes, b1, sizeof b1),
				ma_fmt_count(s->alloc.count, b2, sizeof b2),
				ma_fmt_bytes(s->live.bytes, b3, sizeof b3));
		if (!s->nframes)
			fprintf(f, "        (stack %u: no frames recorded)\n", s->id);
		for (uint32_t k = 0; k < s->nframes && k < args->frames; k++)
			fprintf(f, "        %s\n", ma_visible(ma_analysis_frame_name(a, s->frames[k], name, sizeof name),
							    vis, sizeof vis));
		if (s->nframes > args->frames)
			fprintf(f, "        ... %u more frames\n", s->nframes - args->frames);
	}
}

/* 2^k as "512 B", "8 KiB", "2 MiB"... exactly. */
static const char *pow2_name(unsigned k, char *buf, size_t len)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	if (k >= 64)
		snprintf(buf, len, "16 EiB");
	else
		snprintf(buf, len, "%llu %s", 1ull << (k % 10), units[k / 10]);
	return buf;
}

static void stats_text(const ma_report_args *args, const ma_analysis *a, uint32_t *idx)
{
	FILE *f = args->out;
	char b1[32], b2[32], b3[32], vis[8192];
	fprintf(f, "Capture %s", ma_visible(args->capture, vis, sizeof vis));
	if (a->replay.truncated)
		fprintf(f, " (truncated)");
	fprintf(f, "\n");
	if (a->has_header) {
		/* the name it was started as, then the file it runs (a symlinked
		 * redis-server runs redis-check-rdb) */
		char vcomm[256], vexe[4096];
		fprintf(f, "  pid %u", a->pid);
		if (a->pid_in_namespace)
			fprintf(f, " (%u in its namespace)", a->pid_in_namespace);
		if (a->comm || a->executable)
			fprintf(f, " (%s%s%s)", ma_visible(a->comm, vcomm, sizeof vcomm),
				a->comm && a->executable ? ", running " : "",
				ma_visible(a->executable, vexe, sizeof vexe));
		fprintf(f, "%s%s, %s\n", a->command_line ? ": " : "",
			ma_visible(a->command_line, vis, sizeof vis), a->attached ? "attached" : "launched");
	}
	fprintf(f, "  %s, %s events, %s stacks, %zu threads\n",
		ma_fmt_seconds(a->duration_ns, b1, sizeof b1),
		ma_fmt_count(a->replay.events, b2, sizeof b2),
		ma_fmt_count(a->nstacks, b3, sizeof b3), a->nthreads);
	ma_report_lost_line(a, f);
	ma_report_sampled_line(a, f);
	fprintf(f, "\n");
	const char *mk = ma_report_lost_mark(a);
	fprintf(f, "Allocations:       %s (%s)%s\n", ma_fmt_count(a->total_allocations, b1, sizeof b1),
		ma_fmt_bytes(a->total_bytes_allocated, b2, sizeof b2), mk);
	fprintf(f, "Frees:             %s (%s)%s\n", ma_fmt_count(a->total_frees, b1, sizeof b1),
		ma_fmt_bytes(a->total_bytes_freed, b2, sizeof b2), mk);
	if (a->sample_interval)
		fprintf(f, "Exact counts:      %s allocations (%s), %s frees (the agent counted every call)\n",
			ma_fmt_count(a->exact_alloc.count, b1, sizeof b1),
			ma_fmt_bytes(a->exact_alloc.bytes, b2, sizeof b2),
			ma_fmt_count(a->exact_frees, b3, sizeof b3));
	if (ma_analysis_lost(a))
		fprintf(f, "Lost:              %s allocations (%s), %s frees\n",
			ma_fmt_count(a->lost_alloc.count, b1, sizeof b1),
			ma_fmt_bytes(a->lost_alloc.bytes, b2, sizeof b2),
			ma_fmt_count(a->lost_free.count, b3, sizeof b3));
	fprintf(f, "Untracked frees:   %s (blocks allocated before tracking began%s)%s\n",
		ma_fmt_count(a->untracked_frees, b1, sizeof b1),
		ma_analysis_lost(a) ? ", or lost" : "", mk);
	if (a->implicit_frees)
		fprintf(f, "Implicit frees:    %s (address reused without a recorded free)\n",
			ma_fmt_count(a->implicit_frees, b1, sizeof b1));
	fprintf(f, "Peak:              %s (%llu B) in %s blocks at %s (seq %llu)%s\n",
		ma_fmt_bytes(a->peak_bytes, b1, sizeof b1), (unsigned long long)a->peak_bytes,
		ma_fmt_count(a->peak_blocks, b2, sizeof b2),
		ma_fmt_seconds(a->peak_time_ns, b3, sizeof b3), (unsigned long long)a->peak_seq, mk);
	fprintf(f, "Live at end:       %s (%llu B) in %s blocks%s\n",
		ma_fmt_bytes(a->live_bytes, b1, sizeof b1), (unsigned long long)a->live_bytes,
		ma_fmt_count(a->live_blocks, b2, sizeof b2), mk);
	fprintf(f, "Temporary:         %s (%s) freed before their thread's next allocation%s\n",
		ma_fmt_count(a->temporary_allocations, b1, sizeof b1),
		ma_fmt_bytes(a->temporary_bytes, b2, sizeof b2), mk);
	ma_report_attribution(a, f);
	for (size_t i = 0; i < a->nwarnings; i++) {
		char w[2600];
		fprintf(f, "Agent warning:     %s\n", ma_agent_warning_text(a->warnings[i], w, sizeof w));
	}

	fprintf(f, "\nBy allocator:%s\n", mk);
	for (uint32_t k = 1; k < 32; k++)
		if (a->kinds[k].count)
			fprintf(f, "  %-20s %14s  %s\n", ma_kind_name(k),
				ma_fmt_count(a->kinds[k].count, b1, sizeof b1),
				ma_fmt_bytes(a->kinds[k].bytes, b2, sizeof b2));

	uint64_t maxc = 0;
	int lo = -1, hi = -1;
	for (int b = 0; b < MA_HIST_BUCKETS; b++)
		if (a->hist[b].count) {
			if (lo < 0)
				lo = b;
			hi = b;
			if (a->hist[b].count > maxc)
				maxc = a->hist[b].count;
		}
	if (lo >= 0) {
		fprintf(f, "\nAllocation sizes:\n");
		for (int b = lo; b <= hi; b++) {
			char range[80];
			if (b == 0)
				snprintf(range, sizeof range, "0 B");
			else
				snprintf(range, sizeof range, "[%s, %s)", pow2_name((unsigned)b - 1, b1, sizeof b1),
					 pow2_name((unsigned)b, b2, sizeof b2));
			int bar = (int)(a->hist[b].count * 40 / maxc);
			if (a->hist[b].count && !bar)
				bar = 1;
			fprintf(f, "  %-22s %14s  %.*s\n", range,
				ma_fmt_count(a->hist[b].count, b3, sizeof b3), bar,
				"########################################");
		}
	}
	text_top(f, a, args, "bytes allocated", 0, idx);
	text_top(f, a, args, "allocations", 1, idx);
	text_top(f, a, args, "bytes live at the end (leaks)", 2, idx);
}

int ma_report_stats(const ma_report_args *args)
{
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	uint32_t *idx = malloc(((size_t)args->top + 1) * sizeof *idx);
	if (!idx) {
		ma_analysis_free(a);
		return MA_EXIT_ERROR;
	}
	if (args->json)
		stats_json(args, a, idx);
	else
		stats_text(args, a, idx);
	free(idx);
	ma_analysis_free(a);
	return MA_EXIT_OK;
}

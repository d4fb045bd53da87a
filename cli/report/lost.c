/* lost.c — how the reports tell that the agent dropped events (a CLI that
 * did not read for longer than the stall limit): one sentence, and a mark
 * on the figures the loss makes wrong. */
#include <stdio.h>

#include "cli/analysis/analysis.h"
#include "cli/util/json_writer.h"
#include "cli/report/report.h"

const char *ma_report_lost_text(const ma_analysis *a, char *buf, size_t len)
{
	char n[32], t1[32], t2[32], al[32], by[32], fr[32];
	uint64_t lost = ma_analysis_lost(a);
	if (!lost)
		return NULL;
	snprintf(buf, len, "%s events lost between %s and %s (%s allocations of %s, %s frees): "
		 "the CLI did not read for longer than the stall limit",
		 ma_fmt_count(lost, n, sizeof n), ma_fmt_seconds(a->lost_first_ns, t1, sizeof t1),
		 ma_fmt_seconds(a->lost_last_ns, t2, sizeof t2),
		 ma_fmt_count(a->lost_alloc.count, al, sizeof al),
		 ma_fmt_bytes(a->lost_alloc.bytes, by, sizeof by),
		 ma_fmt_count(a->lost_free.count, fr, sizeof fr));
	return buf;
}

const char *ma_report_lost_mark(const ma_analysis *a)
{
	return ma_analysis_lost(a) ? " *" : "";
}

void ma_report_lost_line(const ma_analysis *a, FILE *f)
{
	char buf[512];
	if (ma_report_lost_text(a, buf, sizeof buf))
		fprintf(f, "* %s; figures marked * are incomplete\n", buf);
}

/* The stats --json keys whose values the loss affects. */
static const char *const affected[] = {
	"total_allocations", "total_frees", "total_bytes_allocated", "total_bytes_freed",
	"untracked_frees", "peak_bytes", "peak_blocks", "leaked_bytes", "leaked_allocations",
	"temporary_allocations", "temporary_bytes",
	"by_allocator", "by_event", "histogram", "threads", "top_stacks_by_bytes",
	"top_stacks_by_count", "top_leaks",
};

void ma_report_lost_json(const ma_analysis *a, ma_json *j)
{
	char buf[512];
	ma_json_object(j, "events_lost");
	ma_json_u64(j, "events", ma_analysis_lost(a));
	ma_json_u64(j, "allocations", a->lost_alloc.count);
	ma_json_u64(j, "allocation_bytes", a->lost_alloc.bytes);
	ma_json_u64(j, "frees", a->lost_free.count);
	ma_json_u64(j, "free_bytes", a->lost_free.bytes);
	ma_json_u64(j, "first_ns", a->lost_first_ns);
	ma_json_u64(j, "last_ns", a->lost_last_ns);
	ma_json_u64(j, "records", a->lost_windows);
	ma_json_str(j, "message", ma_report_lost_text(a, buf, sizeof buf));
	ma_json_array(j, "affects");
	for (size_t i = 0; ma_analysis_lost(a) && i < sizeof affected / sizeof *affected; i++)
		ma_json_str(j, NULL, affected[i]);
	ma_json_end(j);
	ma_json_end(j);
}

/* sampled.c — how the reports tell that a capture was sampled (--sample):
 * one sentence, the agent's exact counts beside the estimates, and a rough
 * error bound per row. */
#include <stdio.h>

#include "cli/analysis/analysis.h"
#include "cli/analysis/sample_weight.h"
#include "cli/util/json_writer.h"
#include "cli/report/report.h"

const char *ma_report_sampled_text(const ma_analysis *a, char *buf, size_t len)
{
	char iv[32], n[32];
	if (!a->sample_interval)
		return NULL;
	snprintf(buf, len, "estimated from %s samples, one per %s allocated on average (--sample); "
		 "\u00b1 is a rough 95%% bound, wide for rows of few samples",
		 ma_fmt_count(a->sample_count, n, sizeof n), ma_fmt_bytes(a->sample_interval, iv, sizeof iv));
	return buf;
}

void ma_report_sampled_line(const ma_analysis *a, FILE *f)
{
	char buf[512];
	if (ma_report_sampled_text(a, buf, sizeof buf))
		fprintf(f, "~ Sampled: %s\n", buf);
}

uint64_t ma_report_error_bytes(const ma_analysis *a, uint64_t bytes)
{
	return ma_sample_error_bytes(a->sample_interval, bytes);
}

/* The stats --json keys that are estimates in a sampled capture. */
static const char *const estimated[] = {
	"total_allocations", "total_frees", "total_bytes_allocated", "total_bytes_freed",
	"peak_bytes", "peak_blocks", "leaked_bytes", "leaked_allocations",
	"temporary_allocations", "temporary_bytes", "not_attributed_bytes",
	"by_allocator", "by_event", "histogram", "threads", "top_stacks_by_bytes",
	"top_stacks_by_count", "top_leaks",
};

/* "sampled": null, or the interval, the keys that are estimates and the
 * agent's exact counts (ThreadCounts summed). */
void ma_report_sampled_json(const ma_analysis *a, ma_json *j)
{
	char buf[512];
	if (!a->sample_interval) {
		ma_json_null(j, "sampled");
		return;
	}
	ma_json_object(j, "sampled");
	ma_json_u64(j, "interval", a->sample_interval);
	ma_json_u64(j, "seed", a->sample_seed);
	ma_json_u64(j, "samples", a->sample_count);
	ma_json_u64(j, "samples_refused", a->samples_refused);
	ma_json_str(j, "message", ma_report_sampled_text(a, buf, sizeof buf));
	ma_json_array(j, "estimated");
	for (size_t i = 0; i < sizeof estimated / sizeof *estimated; i++)
		ma_json_str(j, NULL, estimated[i]);
	ma_json_end(j);
	ma_json_object(j, "exact");
	ma_json_u64(j, "total_allocations", a->exact_alloc.count);
	ma_json_u64(j, "total_bytes_allocated", a->exact_alloc.bytes);
	ma_json_u64(j, "total_frees", a->exact_frees);
	ma_json_end(j);
	ma_json_end(j);
}

/* The same without the ± (for outputs that show no bounds: the flame
 * graph page, folded). */
const char *ma_report_sampled_short(const ma_analysis *a, char *buf, size_t len)
{
	char iv[32], n[32];
	if (!a->sample_interval)
		return NULL;
	snprintf(buf, len, "%s samples, one per %s allocated on average (--sample)",
		 ma_fmt_count(a->sample_count, n, sizeof n), ma_fmt_bytes(a->sample_interval, iv, sizeof iv));
	return buf;
}

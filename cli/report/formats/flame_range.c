/* flame_range.c — the flame graph's time-range selection (Memray's
 * --temporal: for a range of the memory chart, what was allocated in it
 * and is still live at its end) as the page reads it.  The analysis
 * keeps the data while it replays (cli/analysis/range_cells.h). */
#include <stdio.h>

#include "cli/report/formats/flame.h"
#include "cli/util/json_writer.h"

static void put_u32s(FILE *f, const char *key, const uint32_t *v, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		ma_json_put_item(f, i, v[i]);
	putc(']', f);
}

/* bytes (count 0) or blocks (count 1) of n values */
static void put_counts(FILE *f, const char *key, const ma_count *v, size_t n, int count)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		ma_json_put_item(f, i, count ? v[i].count : v[i].bytes);
	putc(']', f);
}

void flame_range_put(FILE *f, const ma_range *r)
{
	fprintf(f, "{\"len\":%zu", r->nentries);
	put_u32s(f, "leaf", r->leaf, r->nentries);
	put_u32s(f, "bucket", r->bucket, r->nentries);
	fputs(",\"off\":[", f);
	for (size_t j = 0; j <= r->nmoments; j++)
		fprintf(f, j ? ",%zu" : "%zu", r->off[j]);
	putc(']', f);
	size_t n = r->off[r->nmoments];
	put_u32s(f, "entry", r->entry, n);
	put_counts(f, "b", r->live, n, 0);
	put_counts(f, "n", r->live, n, 1);
	putc('}', f);
}

/* flame_range.c — the flame graph's time-range selection (Memray's
 * --temporal: for a range of the memory chart, what was allocated in it
 * and is still live at its end) as the page reads it.  The analysis
 * keeps the data while it replays (cli/analysis/range_cells.h). */
#include <stdio.h>

#include "cli/report/formats/flame.h"

static void put_u32s(FILE *f, const char *key, const uint32_t *v, size_t n)
{
	fprintf(f, ",\"%s\":[", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%u" : "%u", v[i]);
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
	fputs(",\"b\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)r->live[i].bytes);
	fputs("],\"n\":[", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, i ? ",%llu" : "%llu", (unsigned long long)r->live[i].count);
	fputs("]}", f);
}

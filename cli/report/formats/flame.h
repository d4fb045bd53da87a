/* flame.h — the pieces of `report flamegraph` (formats/flamegraph.c) that
 * live in files of their own. */
#ifndef MEMATTACH_FLAME_H
#define MEMATTACH_FLAME_H

#include <stdio.h>

#include "cli/report/report.h"

#define FLAME_MOMENTS 200       /* snapshots of the live set: the chart's moments */

/* The time-range data as the page reads it (JSON; flame_range.c): the
 * analysis keeps it during its one replay (ma_analysis_want_range). */
void flame_range_put(FILE *f, const ma_range *r);

/* A frame's kind for the page's colours (flame_kind.c). */
enum flame_kind { FK_PYTHON, FK_MAIN, FK_LIBRARY, FK_INTERPRETER, FK_UNKNOWN };
int flame_kind(const ma_loc *l, const ma_analysis *a);
/* Python's import machinery (importlib's bootstrap), hidden by default. */
int flame_is_import(const ma_loc *l);

/* --base (flame_diff.c): both captures, each analysed per thread with its
 * own tree, and the maps of their nodes to the merged tree's. */
typedef struct flame_diff {
	const ma_analysis *now, *base;
	const ma_tree *now_tree, *base_tree;
	const uint32_t *now_to, *base_to;
} flame_diff;
/* The threads (one per name, both captures) and the leaves (per merged
 * node and thread) as the page reads them; newid: merged node → page node.
 * -1 on OOM. */
int flame_diff_put(FILE *out, const flame_diff *d, const uint32_t *newid,
		   void (*put_str)(FILE *, const char *));

#endif

/* live_model.h — what `memattach live` shows, kept up to date as the
 * stream arrives: the memory live now per location (own, total, blocks,
 * growth), Python frames first as in the reports.  A refresh costs the
 * stacks that changed since the previous one (times their depth, plus a
 * log for the order), never the live blocks or all the stacks. */
#ifndef MEMATTACH_LIVE_MODEL_H
#define MEMATTACH_LIVE_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include "cli/analysis/analysis.h"
#include "cli/report/report.h"
#include "cli/symbols/symbolize.h"

enum ma_lv_sort { MA_LV_OWN, MA_LV_TOTAL, MA_LV_BLOCKS, MA_LV_GROWTH, MA_LV_SORTS };

typedef struct ma_lv_row {
	uint32_t loc;
	ma_count own, total;         /* live now */
	int64_t since_prev;          /* own bytes since the previous refresh */
	int64_t since_start;         /* own bytes since the first refresh */
} ma_lv_row;

/* A node of the call tree of one location (preorder, biggest first). */
typedef struct ma_lv_node {
	uint32_t loc;
	uint32_t depth;              /* outermost frame 0 */
	ma_count live;               /* of the stacks through this path */
} ma_lv_node;

typedef struct ma_lv ma_lv;

/* a: split by thread (ma_analysis_split_by_thread) and tracking changes
 * (ma_analysis_track_changes) before its first event; z: names native
 * frames as they first appear (NULL: addresses). */
ma_lv *ma_lv_new(ma_analysis *a, ma_symbolizer *z);
void ma_lv_free(ma_lv *v);
/* Takes the stacks changed since the previous refresh. */
void ma_lv_refresh(ma_lv *v);
/* Only allocations of thread tid (0: all).  Costs one pass over the
 * stacks, once. */
void ma_lv_set_thread(ma_lv *v, uint32_t tid);
void ma_lv_set_sort(ma_lv *v, enum ma_lv_sort s);
/* The first max rows in the order asked for; returns how many. */
size_t ma_lv_top(ma_lv *v, ma_lv_row *out, size_t max);
/* Locations (shown) in all. */
size_t ma_lv_nlocs(const ma_lv *v);
const ma_loc *ma_lv_loc(const ma_lv *v, uint32_t loc);
/* The tracked live bytes and blocks under the thread filter. */
ma_count ma_lv_live(const ma_lv *v);
/* The merged call tree of the stacks through loc, outermost frames
 * first, children biggest first: up to max nodes.  Returns how many. */
size_t ma_lv_tree(ma_lv *v, uint32_t loc, ma_lv_node *out, size_t max);

#endif

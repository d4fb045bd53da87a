/* range_cells.h — the flame graph's time range, kept by the analysis while
 * it replays (ma_analysis_want_range): for every (entry, allocation
 * bucket), its live value at every moment.  A bucket is the moment that
 * covers an allocation: the first snapshot at or after it, so bucket b
 * holds what was allocated after moment b-1 and up to moment b.
 *
 * A cell is one (entry, bucket), and a live block knows its cell.  A
 * cell's value at a moment is what was allocated into it minus what of it
 * was freed up to then: a free in the cell's own bucket is taken off at
 * once (`kept`); a later one goes to a note per (cell, bucket of the free),
 * found from the cell (its last note) without a map.
 * So a block freed within its bucket (most of them) costs nothing more, and
 * one that outlives it a note per bucket its cell's blocks die in.  When
 * the snapshots are halved the buckets are too, and cells and notes that
 * fall together are merged: memory follows the moments, not the events. */
#ifndef MEMATTACH_RANGE_CELLS_H
#define MEMATTACH_RANGE_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "cli/analysis/analysis.h"

typedef struct range_cell {
	uint32_t entry, bucket;
	ma_count kept;               /* allocated into it, less what was freed in its bucket */
	uint32_t last_note;          /* its latest note + 1 (the open bucket's, if it has one) */
} range_cell;

typedef struct range_note {
	uint32_t cell, bucket;
	ma_count freed;              /* of the cell, freed in this later bucket */
} range_note;

typedef struct range_cells {
	range_cell *cells;           /* in the order of their first allocation */
	size_t ncells, cap_cells;
	uint32_t *cur;               /* per entry: its cell + 1 when that is the open bucket's */
	size_t cap_cur;
	range_note *notes;           /* a cell's note of the open bucket is its last_note */
	size_t nnotes, cap_notes;
	uint32_t open;               /* the bucket being filled: snapshots taken so far */
} range_cells;

/* The cell of entry's allocations now, made when new.  UINT32_MAX when
 * memory or the limits run out (the caller gives the range up). */
uint32_t range_cell_of(range_cells *r, uint32_t entry);

static inline void range_alloc(range_cells *r, uint32_t cell, ma_count w)
{
	r->cells[cell].kept.count += w.count;
	r->cells[cell].kept.bytes += w.bytes;
}

/* What of cell is freed now (a block, or bytes of an unmapped piece).
 * 0, or -1 when memory or the limits run out. */
int range_free(range_cells *r, uint32_t cell, ma_count w);

/* The snapshots were halved, n of them before and k after: bucket j < n
 * becomes j / 2 and the open one k; cells and notes that fall together are
 * merged.  Returns the new index of every old cell (ncells before; the
 * caller moves its blocks and frees it), NULL when out of memory. */
uint32_t *range_thin(range_cells *r, uint32_t n, uint32_t k);

/* The range of an analysis that has finished (its snapshots final): the
 * cells of thread entries, each with the value it had at every moment it
 * changed.  0, or -1 when out of memory. */
int range_result(const range_cells *r, const ma_analysis *a, ma_range *out);

void range_cells_free(range_cells *r);

#endif

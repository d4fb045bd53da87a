/* range_cells.c — the flame graph's time range, kept during the replay
 * (range_cells.h says how). */
#include <stdlib.h>
#include <string.h>

#include "cli/analysis/range_cells.h"
#include "cli/util/grow_array.h"

/* A hostile capture must not make the range grow without bound: past
 * these the analysis gives the range up (the page offers none). */
#define RANGE_MAX_CELLS (1u << 22)
#define RANGE_MAX_NOTES (1u << 23)

uint32_t range_cell_of(range_cells *r, uint32_t entry)
{
	if (entry >= r->cap_cur) {
		size_t had = r->cap_cur;
		if (ma_grow_array((void **)&r->cur, &r->cap_cur, (size_t)entry + 1, sizeof *r->cur) < 0)
			return UINT32_MAX;
		memset(r->cur + had, 0, (r->cap_cur - had) * sizeof *r->cur);
	}
	uint32_t c = r->cur[entry];
	if (c && r->cells[c - 1].bucket == r->open)
		return c - 1;
	if (r->ncells >= RANGE_MAX_CELLS ||
	    ma_grow_array((void **)&r->cells, &r->cap_cells, r->ncells + 1, sizeof *r->cells) < 0)
		return UINT32_MAX;
	c = (uint32_t)r->ncells++;
	r->cells[c] = (range_cell){ entry, r->open, { 0, 0 }, 0 };
	r->cur[entry] = c + 1;
	return c;
}

/* A new note of (cell, bucket): NULL past the limits or OOM. */
static range_note *new_note(range_cells *r, uint32_t cell, uint32_t bucket)
{
	if (r->nnotes >= RANGE_MAX_NOTES ||
	    ma_grow_array((void **)&r->notes, &r->cap_notes, r->nnotes + 1, sizeof *r->notes) < 0)
		return NULL;
	r->notes[r->nnotes] = (range_note){ cell, bucket, { 0, 0 } };
	return &r->notes[r->nnotes++];
}

int range_free(range_cells *r, uint32_t cell, ma_count w)
{
	range_cell *c = &r->cells[cell];
	if (c->bucket == r->open) {
		c->kept.count -= w.count;
		c->kept.bytes -= w.bytes;
		return 0;
	}
	/* a cell's note of the open bucket, if it has one, is its last */
	range_note *n = c->last_note && r->notes[c->last_note - 1].bucket == r->open
		? &r->notes[c->last_note - 1] : new_note(r, cell, r->open);
	if (!n)
		return -1;
	c->last_note = (uint32_t)(n - r->notes) + 1;
	n->freed.count += w.count;
	n->freed.bytes += w.bytes;
	return 0;
}

static uint32_t thinned(uint32_t j, uint32_t n, uint32_t k)
{
	return j < n ? j / 2 : k;
}

/* range_thin's cells, merged in place (a new cell's index is at most its
 * old one's), to[old] = new.  Cells are made in the open bucket, which only
 * grows, and halving keeps their order: an entry meets its cells in bucket
 * order, so one that falls together with an earlier cell falls together
 * with the entry's latest new one, kept in cur[] meanwhile (cur[] only
 * counts where its cell is the open bucket's).  No map: a halving at 10M
 * events built two, 1-2k page faults and 40-55 ms. */
static void thin_cells(range_cells *r, uint32_t *to, uint32_t n, uint32_t k)
{
	memset(r->cur, 0, r->cap_cur * sizeof *r->cur);
	size_t m = 0;
	for (size_t i = 0; i < r->ncells; i++) {
		range_cell c = r->cells[i];
		c.bucket = thinned(c.bucket, n, k);
		c.last_note = 0;
		uint32_t *last = &r->cur[c.entry];
		if (*last && r->cells[*last - 1].bucket == c.bucket) {
			r->cells[*last - 1].kept.count += c.kept.count;
			r->cells[*last - 1].kept.bytes += c.kept.bytes;
		} else {
			r->cells[m] = c;
			*last = (uint32_t)++m;
		}
		to[i] = *last - 1;
	}
	r->ncells = m;
}

/* range_thin's notes, merged in place.  Notes too are made in the open
 * bucket and stay in bucket order, so a cell's note of a bucket, when it
 * has one, is its latest (last_note meanwhile; it counts only when that
 * note is the open bucket's). */
static void thin_notes(range_cells *r, const uint32_t *to, uint32_t n, uint32_t k)
{
	size_t m = 0;
	for (size_t i = 0; i < r->nnotes; i++) {
		range_note o = r->notes[i];
		range_cell *c = &r->cells[to[o.cell]];
		uint32_t b = thinned(o.bucket, n, k);
		if (b == c->bucket) {   /* freed in its own bucket now */
			c->kept.count -= o.freed.count;
			c->kept.bytes -= o.freed.bytes;
			continue;
		}
		if (!c->last_note || r->notes[c->last_note - 1].bucket != b) {
			r->notes[m] = (range_note){ to[o.cell], b, { 0, 0 } };
			c->last_note = (uint32_t)++m;
		}
		range_note *x = &r->notes[c->last_note - 1];
		x->freed.count += o.freed.count;
		x->freed.bytes += o.freed.bytes;
	}
	r->nnotes = m;
}

uint32_t *range_thin(range_cells *r, uint32_t n, uint32_t k)
{
	uint32_t *to = malloc((r->ncells + 1) * sizeof *to);
	if (!to)
		return NULL;
	thin_cells(r, to, n, k);
	thin_notes(r, to, n, k);
	r->open = k;
	return to;
}

static int by_cell_bucket(const void *x, const void *y)
{
	const range_note *a = x, *b = y;
	if (a->cell != b->cell)
		return a->cell < b->cell ? -1 : 1;
	return a->bucket < b->bucket ? -1 : a->bucket > b->bucket;
}

/* The notes into ns by cell, each cell's in bucket order.  Notes are made
 * in the open bucket and halving keeps their order, so they are in bucket
 * order already and a stable counting sort by cell is enough (qsort was a
 * ninth of the time after the replay at 10M events); were they not, qsort.
 * 0, or -1 when out of memory. */
static int notes_by_cell(const range_cells *r, range_note *ns)
{
	uint32_t *at = calloc(r->ncells + 1, sizeof *at);
	if (!at)
		return -1;
	int sorted = 1;
	for (size_t i = 0; i < r->nnotes; i++) {
		at[r->notes[i].cell + 1]++;
		sorted &= !i || r->notes[i - 1].bucket <= r->notes[i].bucket;
	}
	if (!sorted) {
		free(at);
		if (r->nnotes)
			memcpy(ns, r->notes, r->nnotes * sizeof *ns);
		qsort(ns, r->nnotes, sizeof *ns, by_cell_bucket);
		return 0;
	}
	for (size_t c = 0; c < r->ncells; c++)
		at[c + 1] += at[c];
	for (size_t i = 0; i < r->nnotes; i++)
		ns[at[r->notes[i].cell]++] = r->notes[i];
	free(at);
	return 0;
}

/* range_result's changes: per moment j < nm, [off[j], off[j + 1]) of
 * entry[] and live[], entries ascending (cells are walked in order). */
static int put_changes(const range_cells *r, const range_note *ns, const uint32_t *eidx, size_t nm,
		       ma_range *out)
{
	size_t *at = calloc(nm + 2, sizeof *at);
	if (!at)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		size_t k = 0;
		for (size_t i = 0; i < r->ncells; i++) {
			ma_count v = r->cells[i].kept;
			uint32_t b = r->cells[i].bucket;
			for (;;) {
				if (eidx[i] != UINT32_MAX && b < nm) {
					if (pass == 0) {
						at[b + 1]++;
					} else {
						out->entry[at[b]] = eidx[i];
						out->live[at[b]++] = v;
					}
				}
				if (k >= r->nnotes || ns[k].cell != i)
					break;
				v.count -= ns[k].freed.count;
				v.bytes -= ns[k].freed.bytes;
				b = ns[k++].bucket;
			}
		}
		if (pass == 0) {
			for (size_t j = 0; j < nm; j++)
				at[j + 1] += at[j];
			memcpy(out->off, at, (nm + 1) * sizeof *at);
			out->entry = malloc((at[nm] + 1) * sizeof *out->entry);
			out->live = malloc((at[nm] + 1) * sizeof *out->live);
			if (!out->entry || !out->live) {
				free(at);
				return -1;
			}
		}
	}
	free(at);
	return 0;
}

int range_result(const range_cells *r, const ma_analysis *a, ma_range *out)
{
	memset(out, 0, sizeof *out);
	size_t nm = a->nsnapshots;
	range_note *ns = malloc((r->nnotes + 1) * sizeof *ns);
	uint32_t *eidx = malloc((r->ncells + 1) * sizeof *eidx);
	out->leaf = malloc((r->ncells + 1) * sizeof *out->leaf);
	out->bucket = malloc((r->ncells + 1) * sizeof *out->bucket);
	out->off = malloc((nm + 1) * sizeof *out->off);
	int rc = -1;
	if (!ns || !eidx || !out->leaf || !out->bucket || !out->off)
		goto out;
	if (notes_by_cell(r, ns) < 0)
		goto out;
	for (size_t i = 0; i < r->ncells; i++) {
		const range_cell *c = &r->cells[i];
		eidx[i] = UINT32_MAX;
		if (!a->stacks[c->entry].tid)   /* a thread's entries only */
			continue;
		eidx[i] = (uint32_t)out->nentries;
		out->leaf[out->nentries] = c->entry;
		out->bucket[out->nentries++] = c->bucket;
	}
	out->nmoments = nm;
	rc = put_changes(r, ns, eidx, nm, out);
out:
	free(ns);
	free(eidx);
	if (rc < 0)
		ma_range_free(out);
	return rc;
}

void range_cells_free(range_cells *r)
{
	free(r->cells), free(r->cur), free(r->notes);
	memset(r, 0, sizeof *r);
}

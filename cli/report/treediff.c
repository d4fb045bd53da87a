/* treediff.c — two call trees merged into one for `--base`: a node is a
 * location path found in either tree (matched by function, file and, with
 * by_line, line: not by address, so captures of different builds
 * compare), with the values of both. */
#include <stdlib.h>
#include <string.h>

#include "cli/report/report.h"

typedef struct merger {
	ma_tree *r;
	size_t cap;
	const ma_tree *now, *base;
	int by_line;
	uint8_t *taken;          /* per base node: matched to a node of now */
	uint32_t *now_to, *base_to;   /* optional: where each node went */
} merger;

/* A new child of parent (or the root when parent is UINT32_MAX) with the
 * values of now's node a and base's node b (UINT32_MAX: absent). */
static uint32_t add(merger *m, uint32_t parent, uint32_t a, uint32_t b)
{
	ma_tree *r = m->r;
	if (r->nnodes == m->cap) {
		size_t c = m->cap ? m->cap * 2 : 1024;
		ma_tree_node *n = realloc(r->nodes, c * sizeof *n);
		ma_count *bv = n ? realloc(r->base, c * MA_METRICS * sizeof *bv) : NULL;
		ma_count *bs = bv ? realloc(r->base_self, c * MA_METRICS * sizeof *bs) : NULL;
		if (n)
			r->nodes = n;
		if (bv)
			r->base = bv;
		if (!bs)
			return UINT32_MAX;
		r->base_self = bs;
		m->cap = c;
	}
	uint32_t id = (uint32_t)r->nnodes++;
	if (m->now_to && a != UINT32_MAX)
		m->now_to[a] = id;
	if (m->base_to && b != UINT32_MAX)
		m->base_to[b] = id;
	ma_tree_node *n = &r->nodes[id];
	memset(n, 0, sizeof *n);
	n->first_child = n->next_sibling = UINT32_MAX;
	n->parent = parent;
	if (a != UINT32_MAX)
		*n = m->now->nodes[a];
	else if (b != UINT32_MAX)
		n->loc = m->base->nodes[b].loc;
	n->parent = parent;
	n->first_child = n->next_sibling = UINT32_MAX;
	n->depth = parent == UINT32_MAX ? 0 : r->nodes[parent].depth + 1;
	for (int k = 0; k < MA_METRICS; k++) {
		ma_count z = { 0, 0 };
		r->base[id * MA_METRICS + k] = b != UINT32_MAX ? m->base->nodes[b].value[k] : z;
		r->base_self[id * MA_METRICS + k] = b != UINT32_MAX ? m->base->nodes[b].self[k] : z;
	}
	if (parent != UINT32_MAX) {
		n->next_sibling = r->nodes[parent].first_child;
		r->nodes[parent].first_child = id;
	}
	return id;
}

/* The child of base's node b at the same location as now's node a. */
static uint32_t match(merger *m, uint32_t b, uint32_t a)
{
	if (b == UINT32_MAX)
		return UINT32_MAX;
	const ma_loc *l = &m->now->nodes[a].loc;
	for (uint32_t c = m->base->nodes[b].first_child; c != UINT32_MAX; c = m->base->nodes[c].next_sibling)
		if (!m->taken[c] && ma_loc_same(&m->base->nodes[c].loc, l, m->by_line))
			return c;
	return UINT32_MAX;
}

/* Merges the subtrees at now's a and base's b (either UINT32_MAX) under
 * the result's node at. */
static int merge(merger *m, uint32_t at, uint32_t a, uint32_t b)
{
	if (a != UINT32_MAX)
		for (uint32_t c = m->now->nodes[a].first_child; c != UINT32_MAX; c = m->now->nodes[c].next_sibling) {
			uint32_t bc = match(m, b, c);
			if (bc != UINT32_MAX)
				m->taken[bc] = 1;
			uint32_t id = add(m, at, c, bc);
			if (id == UINT32_MAX || merge(m, id, c, bc) < 0)
				return -1;
		}
	if (b != UINT32_MAX)
		for (uint32_t c = m->base->nodes[b].first_child; c != UINT32_MAX; c = m->base->nodes[c].next_sibling) {
			if (m->taken[c])
				continue;
			uint32_t id = add(m, at, UINT32_MAX, c);
			if (id == UINT32_MAX || merge(m, id, UINT32_MAX, c) < 0)
				return -1;
		}
	return 0;
}

ma_tree *ma_tree_diff(const ma_tree *now, const ma_tree *base, int by_line)
{
	return ma_tree_diff_mapped(now, base, by_line, NULL, NULL);
}

ma_tree *ma_tree_diff_mapped(const ma_tree *now, const ma_tree *base, int by_line,
			     uint32_t *now_to, uint32_t *base_to)
{
	merger m = { .now = now, .base = base, .by_line = by_line, .now_to = now_to, .base_to = base_to };
	m.r = calloc(1, sizeof *m.r);
	m.taken = calloc(base->nnodes ? base->nnodes : 1, 1);
	if (!m.r || !m.taken || add(&m, UINT32_MAX, 0, 0) == UINT32_MAX || merge(&m, 0, 0, 0) < 0) {
		free(m.taken);
		ma_tree_free(m.r);
		return NULL;
	}
	free(m.taken);
	return m.r;
}

ma_count ma_tree_base(const ma_tree *t, uint32_t node, ma_metric m)
{
	ma_count z = { 0, 0 };
	return t->base ? t->base[node * MA_METRICS + m] : z;
}

ma_count ma_tree_base_self(const ma_tree *t, uint32_t node, ma_metric m)
{
	ma_count z = { 0, 0 };
	return t->base_self ? t->base_self[node * MA_METRICS + m] : z;
}

int64_t ma_tree_change(const ma_tree *t, uint32_t node, ma_metric m)
{
	return (int64_t)(t->nodes[node].value[m].bytes - ma_tree_base(t, node, m).bytes);
}

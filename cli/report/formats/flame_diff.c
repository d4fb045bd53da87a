/* flame_diff.c — the --base page's leaves and threads.  A leaf is one
 * (node of the merged tree, thread group) with this capture's and the
 * base's values, so the page's thread filter works on a diff as on any
 * page.  Threads of the two captures are matched by name: their tids are
 * two processes' and mean nothing to each other, while a name
 * ("worker-2", "MainThread") is what a program keeps from run to run.
 * Threads without a name form one group. */
#include <stdlib.h>
#include <string.h>

#include "cli/util/strtab.h"
#include "cli/util/u64map.h"
#include "cli/report/formats/flame.h"

#define NV (2 * MA_METRICS)     /* bytes and count per metric */

typedef struct leaves {
	size_t n, cap;
	uint32_t *node;
	int32_t *group;
	uint64_t *v[2];          /* per side: n * NV values */
	ma_u64map idx;           /* (node, group + 1) → leaf */
} leaves;

/* tid → group of a side's threads, the groups interned by name. */
static int map_threads(const ma_analysis *a, ma_strtab *groups, ma_u64map *tg, uint32_t **count,
		       size_t *ncount, int side)
{
	for (size_t i = 0; i < a->nthreads; i++) {
		const char *name = a->threads[i].name ? a->threads[i].name : "";
		uint32_t g = ma_strtab_intern(groups, name);
		if (g == UINT32_MAX || ma_u64map_put(tg, a->threads[i].tid, g) < 0)
			return -1;
		if (groups->n > *ncount) {
			uint32_t *c = realloc(*count, groups->n * 2 * sizeof *c);
			if (!c)
				return -1;
			memset(c + 2 * *ncount, 0, (groups->n - *ncount) * 2 * sizeof *c);
			*count = c;
			*ncount = groups->n;
		}
		(*count)[2 * g + side]++;
	}
	return 0;
}

static uint32_t leaf_for(leaves *l, uint32_t node, int32_t group)
{
	uint64_t key = (uint64_t)node << 32 | (uint32_t)(group + 1);
	uint32_t *slot = ma_u64map_slot(&l->idx, key);
	if (!slot)
		return UINT32_MAX;
	if (*slot != UINT32_MAX)
		return *slot;
	if (l->n == l->cap) {
		size_t c = l->cap ? 2 * l->cap : 256;
		uint32_t *nd = realloc(l->node, c * sizeof *nd);
		if (nd)
			l->node = nd;
		int32_t *gr = nd ? realloc(l->group, c * sizeof *gr) : NULL;
		if (gr)
			l->group = gr;
		for (int s = 0; s < 2 && gr; s++) {
			uint64_t *v = realloc(l->v[s], c * NV * sizeof *v);
			if (!v)
				return UINT32_MAX;
			l->v[s] = v;
		}
		if (!gr)
			return UINT32_MAX;
		l->cap = c;
	}
	uint32_t id = (uint32_t)l->n++;
	l->node[id] = node;
	l->group[id] = group;
	memset(l->v[0] + id * NV, 0, NV * sizeof(uint64_t));
	memset(l->v[1] + id * NV, 0, NV * sizeof(uint64_t));
	*slot = id;
	return id;
}

/* Adds one side's stacks to the leaves. */
static int add_side(leaves *l, const ma_analysis *a, const ma_tree *t, const uint32_t *to,
		    const ma_u64map *tg, const uint32_t *newid, int side)
{
	for (size_t i = 0; i < a->nstacks; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		if (!s->alloc.count)
			continue;     /* not in the tree (calltree.c) */
		uint32_t g = s->tid ? ma_u64map_get(tg, s->tid) : UINT32_MAX;
		uint32_t id = leaf_for(l, newid[to[t->stack_leaf[i]]], g == UINT32_MAX ? -1 : (int32_t)g);
		if (id == UINT32_MAX)
			return -1;
		for (int m = 0; m < NV; m++) {
			ma_count v = ma_stack_value(s, (ma_metric)(m / 2));
			l->v[side][id * NV + m] += m & 1 ? v.count : v.bytes;
		}
	}
	return 0;
}

static const char *keys[NV] = { "peak_b", "peak_n", "leak_b", "leak_n",
				"total_b", "total_n", "temp_b", "temp_n" };

static void put_threads(FILE *out, const ma_strtab *groups, const uint32_t *count,
			void (*put_str)(FILE *, const char *))
{
	fprintf(out, ",\"threads\":[");
	for (size_t g = 0; g < groups->n; g++) {
		fprintf(out, "%s{\"tid\":null,\"name\":", g ? "," : "");
		if (*groups->s[g])
			put_str(out, groups->s[g]);
		else
			fputs("null", out);
		fprintf(out, ",\"here\":%u,\"in_base\":%u}", count[2 * g], count[2 * g + 1]);
	}
	putc(']', out);
}

static void put_leaves(FILE *out, const leaves *l)
{
	fprintf(out, ",\"leaf_node\":[");
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, i ? ",%u" : "%u", l->node[i]);
	fprintf(out, "],\"leaf_thread\":[");
	for (size_t i = 0; i < l->n; i++)
		fprintf(out, i ? ",%d" : "%d", l->group[i]);
	putc(']', out);
	for (int side = 0; side < 2; side++) {
		if (side)
			fprintf(out, ",\"base\":{\"x\":0");
		for (int m = 0; m < NV; m++) {
			fprintf(out, ",\"%s\":[", keys[m]);
			for (size_t i = 0; i < l->n; i++)
				fprintf(out, i ? ",%llu" : "%llu", (unsigned long long)l->v[side][i * NV + m]);
			putc(']', out);
		}
	}
	putc('}', out);
}

int flame_diff_put(FILE *out, const flame_diff *d, const uint32_t *newid,
		   void (*put_str)(FILE *, const char *))
{
	ma_strtab groups = { 0 };
	ma_u64map tg[2] = { { 0 }, { 0 } };
	uint32_t *count = NULL;
	size_t ncount = 0;
	leaves l = { 0 };
	int rc = -1;
	if (map_threads(d->now, &groups, &tg[0], &count, &ncount, 0) < 0 ||
	    map_threads(d->base, &groups, &tg[1], &count, &ncount, 1) < 0 ||
	    add_side(&l, d->now, d->now_tree, d->now_to, &tg[0], newid, 0) < 0 ||
	    add_side(&l, d->base, d->base_tree, d->base_to, &tg[1], newid, 1) < 0)
		goto out;
	put_threads(out, &groups, count, put_str);
	put_leaves(out, &l);
	rc = 0;
out:
	ma_strtab_free(&groups);
	ma_u64map_free(&tg[0]);
	ma_u64map_free(&tg[1]);
	free(count);
	free(l.node), free(l.group), free(l.v[0]), free(l.v[1]);
	ma_u64map_free(&l.idx);
	return rc;
}

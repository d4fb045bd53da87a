/* u64map.c — see u64map.h.  Linear probing, at most half full. */
#include <stdlib.h>
#include <string.h>
#include "cli/util/u64map.h"

static inline size_t home(uint64_t k, size_t mask)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (size_t)k & mask;
}

static int grow(ma_u64map *m)
{
	size_t cap = m->keys ? (m->mask + 1) * 2 : 64;
	uint64_t *k = malloc(cap * sizeof *k);
	uint32_t *v = malloc(cap * sizeof *v);
	if (!k || !v) {
		free(k);
		free(v);
		return -1;
	}
	memset(v, 0xff, cap * sizeof *v);
	for (size_t i = 0; m->keys && i <= m->mask; i++) {
		if (m->vals[i] == UINT32_MAX)
			continue;
		size_t j = home(m->keys[i], cap - 1);
		while (v[j] != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		k[j] = m->keys[i];
		v[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = k;
	m->vals = v;
	m->mask = cap - 1;
	return 0;
}

uint32_t ma_u64map_get(const ma_u64map *m, uint64_t key)
{
	if (!m->keys)
		return UINT32_MAX;
	for (size_t i = home(key, m->mask);; i = (i + 1) & m->mask)
		if (m->vals[i] == UINT32_MAX || m->keys[i] == key)
			return m->vals[i];
}

uint32_t *ma_u64map_slot(ma_u64map *m, uint64_t key)
{
	if ((m->n + 1) * 2 > (m->keys ? m->mask + 1 : 0) && grow(m) < 0)
		return NULL;
	size_t i = home(key, m->mask);
	while (m->vals[i] != UINT32_MAX && m->keys[i] != key)
		i = (i + 1) & m->mask;
	if (m->vals[i] == UINT32_MAX) {
		/* Counted now: the caller fills the slot right away. */
		m->keys[i] = key;
		m->n++;
	}
	return &m->vals[i];
}

int ma_u64map_put(ma_u64map *m, uint64_t key, uint32_t val)
{
	uint32_t *v = ma_u64map_slot(m, key);
	if (!v)
		return -1;
	*v = val;
	return 0;
}

void ma_u64map_free(ma_u64map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->mask = m->n = 0;
}

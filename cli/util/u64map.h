/* u64map.h — a small open-addressing map from 64-bit keys to 32-bit
 * values (indices), without deletion: ids to table indices, addresses to
 * symbols, and the like.  UINT32_MAX is the "empty" value. */
#ifndef MEMATTACH_U64MAP_H
#define MEMATTACH_U64MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct ma_u64map {
	uint64_t *keys;
	uint32_t *vals;          /* UINT32_MAX: empty slot */
	size_t mask, n;
} ma_u64map;

/* The value of key, or UINT32_MAX when absent. */
uint32_t ma_u64map_get(const ma_u64map *m, uint64_t key);
/* The value slot of key, created when absent (then *slot == UINT32_MAX:
 * store a value in it).  NULL when out of memory. */
uint32_t *ma_u64map_slot(ma_u64map *m, uint64_t key);
/* Sets key to val.  0, or -1 when out of memory. */
int ma_u64map_put(ma_u64map *m, uint64_t key, uint32_t val);
void ma_u64map_free(ma_u64map *m);

#endif

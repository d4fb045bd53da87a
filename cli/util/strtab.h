/* strtab.h — interned strings: each distinct string once, by index, in the
 * order first seen (the string tables of the pprof and flame graph
 * outputs). */
#ifndef MEMATTACH_STRTAB_H
#define MEMATTACH_STRTAB_H

#include <stddef.h>
#include <stdint.h>
#include "cli/util/u64map.h"

typedef struct ma_strtab {
	char **s;                /* s[i]: the string of index i */
	size_t n, cap;
	ma_u64map idx;           /* hash → newest index of that hash */
	uint32_t *next;          /* per index: older index of the same hash */
} ma_strtab;

/* Index of s (NULL counts as ""), added when new; UINT32_MAX on OOM. */
uint32_t ma_strtab_intern(ma_strtab *t, const char *s);
void ma_strtab_free(ma_strtab *t);

#endif

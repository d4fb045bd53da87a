/* grow_array.h — room for `need` elements of `elem` bytes in a realloc'd
 * array whose capacity doubles (from 64). */
#ifndef MEMATTACH_GROW_ARRAY_H
#define MEMATTACH_GROW_ARRAY_H

#include <stdlib.h>

/* 0, or -1 when out of memory (*p and *cap then unchanged). */
static inline int ma_grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(*p, c * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

#endif

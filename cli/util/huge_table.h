/* huge_table.h — zeroed memory for a large table that is filled all over
 * and grows by doubling (the replay's ordering ring): from 2 MiB on it is
 * asked for in 2 MiB pages, faulted in once each instead of 512 times (a
 * 4 KiB page fault costs about 10 us on the paravirtualised test machine;
 * the ring took 2,500 of them at 10M events), and grown in place, its pages
 * moved, not copied (a copy would hold both at once). */
#ifndef MEMATTACH_HUGE_TABLE_H
#define MEMATTACH_HUGE_TABLE_H

#include <stddef.h>

/* bytes of zeroes, or NULL when out of memory.  Free with ma_huge_free
 * and the same size. */
void *ma_huge_zalloc(size_t bytes);

/* p's table of old bytes made bytes long (more): the first old bytes as
 * they were, the rest zeroes; NULL (p untouched) when out of memory. */
void *ma_huge_grow(void *p, size_t old, size_t bytes);

void ma_huge_free(void *p, size_t bytes);

#endif

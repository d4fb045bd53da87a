/* sample_weight.h — what one sample of a --sample capture stands for.
 *
 * The agent records an allocation of n bytes with probability
 * p = 1 - exp(-n/S) (S = Header.sample_interval; proto/memattach.proto), so
 * weighing each recorded allocation by n/p bytes and 1/p blocks makes
 * every sum of them an unbiased estimate of the same sum over all the
 * allocations (Horvitz-Thompson).  Mappings (mmap, mremap) are never
 * sampled: weight 1. */
#ifndef MEMATTACH_SAMPLE_WEIGHT_H
#define MEMATTACH_SAMPLE_WEIGHT_H

#include <stdint.h>
#include "cli/analysis/analysis.h"

/* The estimated {blocks, bytes} one recorded block of size n at addr
 * stands for.  Blocks are rounded to a whole number at random, but the
 * same way for the same (addr, n), so a free takes away exactly what its
 * allocation added.  interval 0: {1, n}. */
ma_count ma_sample_weight(uint64_t interval, uint32_t kind, uint64_t addr, uint64_t n);

/* A rough 95% bound on the error of an estimate of `bytes` made from
 * samples (two standard deviations): the variance of a sum of weighed
 * samples is at most interval * bytes, the bound for small blocks; a
 * value made of blocks much larger than the interval is nearly exact. */
uint64_t ma_sample_error_bytes(uint64_t interval, uint64_t bytes);

#endif

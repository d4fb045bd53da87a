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

/* Blocks are a whole number: 1/p rounded down, or up with the probability
 * of its fraction (unbiased).  Whether this sample rounds up, drawn from
 * its seq (independent from one sample to the next, the same on every
 * reading); the block keeps it, so that its free takes away exactly what
 * its allocation added. */
int ma_sample_round_up(uint64_t interval, uint64_t n, uint64_t seq);

/* The estimated {blocks, bytes} one recorded block of size n stands for.
 * interval 0, or a mapping: {1, n}. */
ma_count ma_sample_weight(uint64_t interval, uint32_t kind, uint64_t n, int up);

/* A rough 95% bound on the error of an estimate of `bytes` made from
 * samples (two standard deviations): the variance of a sum of weighed
 * samples is at most interval * bytes, the bound for small blocks; a
 * value made of blocks much larger than the interval is nearly exact. */
uint64_t ma_sample_error_bytes(uint64_t interval, uint64_t bytes);

#endif

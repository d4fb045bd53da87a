/* sample_weight.c — the weight of a sample (see sample_weight.h). */
#include <math.h>

#include "cli/analysis/sample_weight.h"
#include "memattach.pb-c.h"

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 1/p = 1 / (1 - exp(-n/S)), without cancellation for small n */
static double inverse_p(uint64_t interval, uint64_t n)
{
	return -1.0 / expm1(-(double)n / (double)interval);
}

int ma_sample_round_up(uint64_t interval, uint64_t n, uint64_t seq)
{
	if (!interval || !n)
		return 0;
	double inv_p = inverse_p(interval, n);
	double u = (double)(mix(seq * 0x9e3779b97f4a7c15ull ^ n) >> 11) * 0x1.0p-53;   /* [0, 1) */
	return u < inv_p - floor(inv_p);
}

ma_count ma_sample_weight(uint64_t interval, uint32_t kind, uint64_t n, int up)
{
	if (!interval || !n || kind == MEMATTACH__EVENT_KIND__MMAP || kind == MEMATTACH__EVENT_KIND__MREMAP)
		return (ma_count){ 1, n };
	double inv_p = inverse_p(interval, n);
	return (ma_count){ (uint64_t)floor(inv_p) + (up != 0), (uint64_t)llround((double)n * inv_p) };
}

uint64_t ma_sample_error_bytes(uint64_t interval, uint64_t bytes)
{
	if (!interval)
		return 0;
	return (uint64_t)llround(2.0 * sqrt((double)interval * (double)bytes));
}

/* hash.h — the one string hash (FNV-1a, 64-bit) and the one integer mixer
 * of the CLI.  Table lookups compare keys; these only spread them. */
#ifndef MEMATTACH_HASH_H
#define MEMATTACH_HASH_H

#include <stdint.h>

#define MA_HASH_SEED 0xcbf29ce484222325ull

/* Continues hash h over the bytes of s (NULL: nothing). */
static inline uint64_t ma_hash_str(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* Spreads every bit of k over the word (murmur3's finalizer). */
static inline uint64_t ma_hash_mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

#endif

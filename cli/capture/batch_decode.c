/* batch_decode.c — EventBatch records decoded without protobuf-c (see
 * batch_decode.h).  Anything but the plain encoding is declined, never
 * guessed at: the caller then unpacks it with protobuf-c. */
#include <stdlib.h>
#include <string.h>

#include "cli/capture/batch_decode.h"

#define NCOLS 6                 /* fields 2-7: seq, time, addr, size, kind, stack */

/* A varint of at most 10 bytes from [*p, end): 0 when it is cut or longer. */
static inline int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	if (q < end && !(*q & 0x80)) {
		*v = *q;
		*p = q + 1;
		return 1;
	}
	uint64_t r = 0;
	for (int i = 0; i < 10 && q + i < end; i++) {
		r |= (uint64_t)(q[i] & 0x7f) << (7 * i);
		if (!(q[i] & 0x80)) {
			*v = r;
			*p = q + i + 1;
			return 1;
		}
	}
	return 0;
}

/* A varint of 2 to 8 bytes from the 8 bytes at p (p + 8 <= end): its
 * length, or 0 when it is longer (then the byte loop takes it).  The
 * address column mixes 1- to 4-byte varints at random; a loop per byte
 * mispredicts its exit branch on most of them.  One-byte varints (kinds,
 * stacks) stay on the byte path, which is faster for them. */
static inline unsigned varint8(const uint8_t *p, uint64_t *v)
{
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
	(void)p, (void)v;
	return 0;
#else
	uint64_t x;
	memcpy(&x, p, 8);
	uint64_t stop = ~x & 0x8080808080808080ull;
	if (!stop)
		return 0;
	unsigned n = ((unsigned)__builtin_ctzll(stop) >> 3) + 1;
	if (n < 8)
		x &= (1ull << (8 * n)) - 1;
	/* 7 bits from each byte, packed: 8 x 7 -> 4 x 14 -> 2 x 28 -> 56. */
	x = (x & 0x007f007f007f007full) | (x & 0x7f007f007f007f00ull) >> 1;
	x = (x & 0x00003fff00003fffull) | (x & 0x3fff00003fff0000ull) >> 2;
	x = (x & 0x000000000fffffffull) | (x & 0x0fffffff00000000ull) >> 4;
	*v = x;
	return n;
#endif
}

/* One varint of a packed column (at most 10 bytes), p < end. */
#define NEXT_VARINT(p, end, v, fail)                                             \
	do {                                                                     \
		unsigned n8_;                                                    \
		if (*(p) & 0x80 && (end) - (p) >= 8 && (n8_ = varint8((p), &(v)))) { \
			(p) += n8_;                                              \
			break;                                                   \
		}                                                                \
		(v) = *(p)++;                                                    \
		if ((v) & 0x80) {                                                \
			(v) &= 0x7f;                                             \
			for (unsigned sh_ = 7;; sh_ += 7) {                      \
				if ((p) >= (end) || sh_ > 63)                    \
					fail;                                    \
				uint64_t b_ = *(p)++;                            \
				(v) |= (b_ & 0x7f) << sh_;                       \
				if (!(b_ & 0x80))                                \
					break;                                   \
			}                                                        \
		}                                                                \
	} while (0)

/* Each decoder returns the elements written (at most len), or -1 when a
 * varint is longer than 10 bytes or cut.  A column never sent has a NULL
 * span of length 0.  CONVERT turns the varint v into the element. */
#define DEFINE_DECODER(name, type, CONVERT)                                      \
	static long name(const uint8_t *p, size_t len, type *out)                \
	{                                                                        \
		if (!len)                                                        \
			return 0;                                                \
		const uint8_t *end = p + len;                                    \
		long n = 0;                                                      \
		while (p < end) {                                                \
			uint64_t v;                                              \
			NEXT_VARINT(p, end, v, return -1);                       \
			out[n++] = CONVERT;                                      \
		}                                                                \
		return n;                                                        \
	}

DEFINE_DECODER(decode_u64, uint64_t, v)
/* sint64: zigzag-encoded. */
DEFINE_DECODER(decode_s64, int64_t, (int64_t)(v >> 1) ^ -(int64_t)(v & 1))
/* uint32 keeps the low 32 bits of the varint, as protobuf-c does. */
DEFINE_DECODER(decode_u32, uint32_t, (uint32_t)v)

static int reserve(void **buf, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap && *buf)
		return 0;
	size_t c = *cap ? *cap : 4096;
	while (c < need)
		c *= 2;
	void *n = realloc(*buf, c * elem);
	if (!n)
		return -1;
	*buf = n;
	*cap = c;
	return 0;
}

typedef struct span {
	const uint8_t *p;
	size_t len;
	int seen;
} span;

/* The fields of an EventBatch body: -1 when any is not in the plain form. */
static int split_fields(const uint8_t *p, const uint8_t *end, span col[NCOLS], uint32_t scalar[3])
{
	int seen_scalar = 0;
	while (p < end) {
		uint64_t tag, v;
		if (!get_varint(&p, end, &tag))
			return -1;
		uint64_t field = tag >> 3;
		unsigned wt = (unsigned)(tag & 7);
		if (field >= 2 && field <= 7) {
			span *s = &col[field - 2];
			if (wt != 2 || s->seen || !get_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return -1;
			*s = (span){ p, (size_t)v, 1 };
			p += v;
			continue;
		}
		int k = field == 1 ? 0 : field == 45 ? 1 : field == 46 ? 2 : -1;
		if (k < 0 || wt != 0 || (seen_scalar >> k & 1) || !get_varint(&p, end, &v))
			return -1;
		seen_scalar |= 1 << k;
		scalar[k] = (uint32_t)v;
	}
	return 0;
}

const Memattach__Record *ma_batch_decode(ma_batch_cols *c, const uint8_t *p, size_t len)
{
	uint64_t blen;
	/* Record: field 2 (events), length-delimited, and nothing else. */
	if (len < 2 || p[0] != (2 << 3 | 2))
		return NULL;
	const uint8_t *end = p + len;
	p++;
	if (!get_varint(&p, end, &blen) || blen != (uint64_t)(end - p))
		return NULL;
	span col[NCOLS] = { 0 };
	uint32_t scalar[3] = { 0 };     /* tid, layout, addr_shift */
	if (split_fields(p, end, col, scalar) < 0)
		return NULL;
	/* A column holds at most one element per byte. */
	size_t n64 = col[0].len + col[1].len + col[2].len + col[3].len;
	size_t n32 = col[4].len + col[5].len;
	if (reserve((void **)&c->u64, &c->cap64, n64, sizeof *c->u64) < 0 ||
	    reserve((void **)&c->u32, &c->cap32, n32, sizeof *c->u32) < 0)
		return NULL;
	Memattach__EventBatch *b = &c->batch;
	memattach__event_batch__init(b);
	b->tid = scalar[0];
	b->layout = scalar[1];
	b->addr_shift = scalar[2];
	uint64_t *u = c->u64;
	uint32_t *w = c->u32;
	long k[NCOLS];
	k[0] = decode_u64(col[0].p, col[0].len, b->seq_delta = u);
	u += col[0].len;
	k[1] = decode_u64(col[1].p, col[1].len, b->time_delta = u);
	u += col[1].len;
	k[2] = decode_s64(col[2].p, col[2].len, b->addr_delta = (int64_t *)u);
	u += col[2].len;
	k[3] = decode_u64(col[3].p, col[3].len, b->size = u);
	k[4] = decode_u32(col[4].p, col[4].len, b->kind = w);
	w += col[4].len;
	k[5] = decode_u32(col[5].p, col[5].len, b->stack = w);
	for (int i = 0; i < NCOLS; i++)
		if (k[i] < 0)
			return NULL;
	b->n_seq_delta = (size_t)k[0], b->n_time_delta = (size_t)k[1];
	b->n_addr_delta = (size_t)k[2], b->n_size = (size_t)k[3];
	b->n_kind = (size_t)k[4], b->n_stack = (size_t)k[5];
	memattach__record__init(&c->rec);
	c->rec.r_case = MEMATTACH__RECORD__R_EVENTS;
	c->rec.events = b;
	return &c->rec;
}

void ma_batch_cols_free(ma_batch_cols *c)
{
	free(c->u64);
	free(c->u32);
	memset(c, 0, sizeof *c);
}

/* batch_wire.c — an EventBatch record written straight in protobuf's wire
 * format (the stream stays memattach.proto): protobuf-c would walk every
 * column twice (sizes, then bytes) through its generic code, in the
 * target's process.  Each packed column is written once into scratch and
 * copied behind its tag and length.  The compact layout (EventBatch.layout
 * 1) leaves out what the reader can infer: seqs that follow on, times that
 * did not change, the addresses' common zero bits, a free's size and
 * stack (0); a batch that breaks those rules goes in the full layout. */
#include <string.h>
#include "agent_internal.h"
#include "batch_wire.h"

#define COLS 6
#define COL_MAX (MA_BATCH_EVENTS * 12)   /* a pair of varints: <= 12 B an event */

static uint8_t *scratch;     /* COLS columns of COL_MAX bytes */

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int ma_batch_wire_prepare(void)
{
	if (!scratch)
		scratch = ma_pages_alloc((size_t)COLS * COL_MAX);
	return scratch ? 0 : -1;
}

size_t ma_batch_wire_bound(uint32_t n)
{
	return (size_t)n * (2 * 12 + 4 * 10) + 96;
}

/* The full layout (0).  Times are kept to the microsecond: finer digits
 * are noise that would cost bytes in every event and compress badly. */
static void full_columns(const struct ma_buf *b, uint64_t start_ns, uint8_t **end)
{
	uint64_t ps = 0, pt = start_ns - start_ns % 1000, t = pt;
	int64_t pa = 0;
	for (uint32_t i = 0, m = 0; i < b->n; i++) {
		if (m < b->nmarks && b->mark_at[m] == i) {
			t = b->mark_time[m++];
			t -= t % 1000;
		}
		uint64_t seq = b->seq_kind[i] >> 8;
		end[0] = put_varint(end[0], seq - ps);
		ps = seq;
		end[1] = put_varint(end[1], t >= pt ? t - pt : 0);
		pt = t > pt ? t : pt;
		int64_t d = (int64_t)b->addr[i] - pa;
		pa = (int64_t)b->addr[i];
		end[2] = put_varint(end[2], ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
		end[3] = put_varint(end[3], b->size[i]);
		end[4] = put_varint(end[4], b->seq_kind[i] & 0xff);
		end[5] = put_varint(end[5], b->stack[i]);
	}
}

/* The framed Record: EventBatch {tid, columns as fields 2..7, layout,
 * addr_shift}. */
static size_t frame(const struct ma_buf *b, uint8_t **col, uint8_t **end,
		    uint32_t layout, uint32_t shift, uint8_t *out)
{
	size_t eb = b->tid ? 1 + varint_len(b->tid) : 0;
	for (int c = 0; c < COLS; c++) {
		size_t len = (size_t)(end[c] - col[c]);
		if (len)
			eb += 1 + varint_len(len) + len;
	}
	if (layout)
		eb += 2 + varint_len(layout);
	if (shift)
		eb += 2 + varint_len(shift);
	size_t body = 1 + varint_len(eb) + eb;          /* Record.events = 2 */
	uint8_t *p = put_varint(out, body);
	*p++ = (2 << 3) | 2;
	p = put_varint(p, eb);
	if (b->tid) {
		*p++ = (1 << 3) | 0;
		p = put_varint(p, b->tid);
	}
	for (int c = 0; c < COLS; c++) {
		size_t len = (size_t)(end[c] - col[c]);
		if (!len)
			continue;
		*p++ = (uint8_t)(((2 + c) << 3) | 2);
		p = put_varint(p, len);
		memcpy(p, col[c], len);
		p += len;
	}
	if (layout) {
		p = put_varint(p, 45 << 3);
		p = put_varint(p, layout);
	}
	if (shift) {
		p = put_varint(p, 46 << 3);
		p = put_varint(p, shift);
	}
	return (size_t)(p - out);
}

/* A free's size is 0 but for munmap and mremap's old range; its stack 0. */
static inline int has_size(uint32_t kind)
{
	return kind < 32 || kind == 36 || kind == 37;
}

/* The address bits that are zero in every address of the batch. */
static uint32_t common_zero_bits(const struct ma_buf *b)
{
	uint64_t any = 0;
	for (uint32_t i = 0; i < b->n; i++)
		any |= b->addr[i];
	return any ? (uint32_t)__builtin_ctzll(any) : 0;
}

/* The compact columns; 0 when an event breaks the layout's rules.  The
 * time changes only at a mark, so its column is written there. */
static int compact_columns(const struct ma_buf *b, uint64_t start_ns, uint32_t shift,
			   uint8_t **end)
{
	uint64_t ps = 0, pt = start_ns - start_ns % 1000, tz = 0;
	uint64_t pa = 0;
	uint32_t si = 0, ti = 0;
	for (uint32_t i = 0, m = 0; i < b->n; i++) {
		if (m < b->nmarks && b->mark_at[m] == i) {
			uint64_t t = b->mark_time[m++];
			t -= t % 1000;
			uint64_t us = t >= pt ? (t - pt) / 1000 : 0;
			if (us > tz) {          /* never backwards, as in the full layout */
				end[1] = put_varint(end[1], i - ti);
				end[1] = put_varint(end[1], us - tz);
				tz = us;
				ti = i;
			}
		}
		uint32_t kind = (uint32_t)(b->seq_kind[i] & 0xff);
		uint64_t seq = b->seq_kind[i] >> 8;
		if (seq != ps + 1) {
			end[0] = put_varint(end[0], i - si);
			end[0] = put_varint(end[0], seq - ps);
			si = i;
		}
		ps = seq;
		uint64_t a = b->addr[i] >> shift;
		int64_t d = (int64_t)(a - pa);
		pa = a;
		end[2] = put_varint(end[2], ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
		if (kind < 32) {
			end[3] = put_varint(end[3], b->size[i]);
			end[4] = put_varint(end[4], kind);
			end[5] = put_varint(end[5], b->stack[i]);
			continue;
		}
		int sized = has_size(kind);
		if (b->stack[i] || (b->size[i] && !sized))
			return 0;
		if (sized)
			end[3] = put_varint(end[3], b->size[i]);
		end[4] = put_varint(end[4], kind);
	}
	return 1;
}

size_t ma_batch_wire(const struct ma_buf *b, uint64_t start_ns, uint8_t *out)
{
	if (!scratch)
		return 0;   /* ma_batch_wire_prepare failed the session's start */
	uint8_t *col[COLS], *end[COLS];
	for (int c = 0; c < COLS; c++)
		col[c] = end[c] = scratch + (size_t)c * COL_MAX;
	uint32_t shift = common_zero_bits(b);
	if (compact_columns(b, start_ns, shift, end))
		return frame(b, col, end, 1, shift, out);
	for (int c = 0; c < COLS; c++)
		end[c] = col[c];
	full_columns(b, start_ns, end);
	return frame(b, col, end, 0, 0, out);
}

void ma_batch_wire_release(void)
{
	ma_pages_free(scratch, (size_t)COLS * COL_MAX);
	scratch = NULL;
}

/* rx_lazy.c — see rx_lazy.h. */
#include <stdlib.h>
#include <string.h>
#include "cli/cmd/rx_lazy.h"
#include "memattach.pb-c.h"
#include "record_io.h"

int rx_lazy_keep(struct rx_lazy *z, const uint8_t *rec, size_t len,
		 const uint8_t **framed, size_t *flen)
{
	if (z->cap - z->len < len + 10) {
		size_t cap = z->cap ? z->cap : 1u << 20;
		while (cap - z->len < len + 10)
			cap *= 2;
		uint8_t *n = realloc(z->buf, cap);
		if (!n)
			return -1;
		z->buf = n;
		z->cap = cap;
	}
	uint8_t *p = z->buf + z->len, *q = p;
	for (uint64_t v = len; ; v >>= 7) {
		*q++ = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	memcpy(q, rec, len);
	*framed = p;
	*flen = (size_t)(q - p) + len;
	z->len += *flen;
	return 0;
}

/* The Tick's sync_id, read without unpacking the others. */
int rx_lazy_due(const struct rx_lazy *z, const uint8_t *rec, size_t len)
{
	if (z->len >= RX_LAZY_MAX)
		return 1;
	uint64_t tag;
	if (ma_varint_get(rec, rec + len, &tag) <= 0 || tag >> 3 != MEMATTACH__RECORD__R_TICK)
		return 0;
	Memattach__Record *r = memattach__record__unpack(NULL, len, rec);
	int due = !r || (r->r_case == MEMATTACH__RECORD__R_TICK && r->tick->sync_id);
	if (r)
		memattach__record__free_unpacked(r, NULL);
	return due;
}

int rx_lazy_drain(struct rx_lazy *z, int (*fn)(void *ctx, const uint8_t *rec, size_t len), void *ctx)
{
	const uint8_t *p = z->buf, *end = z->buf + z->len;
	int rc = 0;
	while (p < end && !rc) {
		uint64_t len;
		int k = ma_varint_get(p, end, &len);
		if (k <= 0 || len > (uint64_t)(end - p - k))
			break;
		rc = fn(ctx, p + k, (size_t)len);
		p += k + len;
	}
	z->len = 0;
	return rc;
}

void rx_lazy_free(struct rx_lazy *z)
{
	free(z->buf);
	memset(z, 0, sizeof(*z));
}

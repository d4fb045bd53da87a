/* batch_recode.c — layout 1 → layout 2 (batch_recode.h).  The columns but
 * the addresses are copied as they came; the addresses go through the
 * model into three new columns.  A batch the model cannot take (another
 * layout, columns of the wrong lengths, no memory) is written as it is,
 * and the model never sees it: the reader skips it alike. */
#include <stdlib.h>
#include <string.h>

#include "cli/capture/batch_recode.h"
#include "cli/capture/addr_model.h"
#include "cli/capture/batch_decode.h"
#include "record_io.h"
#include "record_limits.h"

struct ma_batch_recoder {
	ma_batch_cols cols;     /* the batch read back */
	ma_addr_model *model;
	uint32_t batches;       /* layout 2 batches since the model's reset */
	uint8_t *buf;           /* the new record */
	size_t cap;
	uint8_t *tmp;           /* its three new columns */
	size_t tcap;
};

ma_batch_recoder *ma_batch_recoder_new(void)
{
	ma_batch_recoder *r = calloc(1, sizeof *r);
	if (r && !(r->model = ma_addr_model_new(1))) {
		free(r);
		return NULL;
	}
	if (r)
		r->cols.no_model = 1;
	return r;
}

void ma_batch_recoder_free(ma_batch_recoder *r)
{
	if (!r)
		return;
	ma_batch_cols_free(&r->cols);
	ma_addr_model_free(r->model);
	free(r->buf);
	free(r->tmp);
	free(r);
}

void ma_batch_recoder_reset(ma_batch_recoder *r)
{
	ma_addr_model_reset(r->model);
	r->batches = 0;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	uint8_t *n = realloc(*p, need);
	if (!n)
		return -1;
	*p = n;
	*cap = need;
	return 0;
}

static size_t vlen(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80)
		v >>= 7, n++;
	return n;
}

/* A length-delimited field (left out when empty). */
static uint8_t *put_bytes(uint8_t *o, unsigned field, const uint8_t *p, size_t n)
{
	if (!n)
		return o;
	o += ma_varint_put(o, (uint64_t)field << 3 | 2);
	o += ma_varint_put(o, n);
	memcpy(o, p, n);
	return o + n;
}

/* A varint field (left out when 0, as protobuf does). */
static uint8_t *put_scalar(uint8_t *o, unsigned field, uint64_t v)
{
	if (!v)
		return o;
	o += ma_varint_put(o, (uint64_t)field << 3);
	return o + ma_varint_put(o, v);
}

/* The addresses through the model: free refs, alloc refs, escapes; their
 * ends in end[3]. */
static void model_columns(ma_batch_recoder *r, const Memattach__EventBatch *b, uint8_t *end[3])
{
	uint64_t a = 0;
	size_t zi = 0;
	for (size_t i = 0; i < b->n_kind; i++) {
		uint32_t kind = b->kind[i];
		a += (uint64_t)b->addr_delta[i];
		uint64_t size = ma_compact_has_size(kind) ? b->size[zi++] : 0;
		int64_t e = 0;
		uint32_t ref = ma_addr_model_put(r->model, kind, size, a << b->addr_shift,
						 b->addr_shift, &e);
		int c = kind >= 32 ? 0 : 1;
		end[c] += ma_varint_put(end[c], ref);
		if (!ref)
			end[2] += ma_varint_put(end[2], ((uint64_t)e << 1) ^ (uint64_t)(e >> 63));
	}
}

/* Whether the model can take b: layout 1, a size for each kind that has one. */
static int takes(const Memattach__EventBatch *b)
{
	size_t n = b->n_kind, nsize = 0;
	if (b->layout != 1 || n > MA_MAX_BATCH_EVENTS || b->n_addr_delta != n || b->addr_shift > 63)
		return 0;
	for (size_t i = 0; i < n; i++)
		nsize += ma_compact_has_size(b->kind[i]);
	return nsize == b->n_size;
}

size_t ma_batch_recode(ma_batch_recoder *r, const uint8_t *p, size_t len, const uint8_t **out)
{
	uint64_t blen, eblen;
	int k = ma_varint_get(p, p + len, &blen);
	if (k <= 0 || blen != len - (size_t)k)
		return 0;
	const uint8_t *body = p + k, *end = p + len;
	const Memattach__Record *m = ma_batch_decode(&r->cols, body, (size_t)blen);
	if (!m || !takes(m->events))
		return 0;
	const Memattach__EventBatch *b = m->events;
	const uint8_t *q = body + 1;
	int e = ma_varint_get(q, end, &eblen);
	ma_batch_span col[MA_BATCH_NCOLS] = { 0 };
	uint32_t sc[4] = { 0 };
	if (e <= 0 || ma_batch_fields(q + e, end, col, sc) < 0)
		return 0;
	size_t n = b->n_kind;
	if (grow(&r->tmp, &r->tcap, 20 * n + 16) < 0 || grow(&r->buf, &r->cap, len + 20 * n + 64) < 0 ||
	    ma_addr_model_reserve(r->model, n) < 0)
		return 0;
	uint8_t *c3[3] = { r->tmp, r->tmp + 5 * n, r->tmp + 10 * n };
	uint8_t *ce[3] = { c3[0], c3[1], c3[2] };
	model_columns(r, b, ce);
	uint8_t *s = r->buf + 16, *o = s;
	o = put_scalar(o, 1, b->tid);
	for (int c = 0; c < 6; c++)
		if (c != 2)
			o = put_bytes(o, 2 + (unsigned)c, col[c].p, col[c].len);
	for (int c = 0; c < 3; c++)
		o = put_bytes(o, 115 + (unsigned)c, c3[c], (size_t)(ce[c] - c3[c]));
	o = put_scalar(o, 45, 2);
	o = put_scalar(o, 46, b->addr_shift);
	o = put_scalar(o, 118, r->batches++);
	size_t eb = (size_t)(o - s), rec = 1 + vlen(eb) + eb;
	size_t pre = vlen(rec) + 1 + vlen(eb);
	uint8_t *h = s - pre;
	h += ma_varint_put(h, rec);
	*h++ = 2 << 3 | 2;
	ma_varint_put(h, eb);
	*out = s - pre;
	return pre + eb;
}

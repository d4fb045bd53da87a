/* test_addr_model.c — EventBatch layout 2 (cli/capture/addr_model.h): a
 * batch recoded by the capture writer decodes to exactly the batch the
 * agent sent, whatever path each address took (live index, class list,
 * recent frees, escape); a hostile reference, a missing escape or a batch
 * out of turn is refused, never read out of bounds; and a capture file
 * over several zstd frames (the model reset at each) reads back whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/capture/addr_model.h"
#include "cli/capture/batch_decode.h"
#include "cli/capture/batch_recode.h"
#include "cli/capture/capture_file.h"
#include "record_io.h"
#include "synth.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A toy heap that reuses freed blocks last in, first out, per size, with
 * strays: frees of unknown blocks, allocations anywhere, munmaps. */
#define SLOTS 300
typedef struct heap {
	uint64_t slot[SLOTS], size[SLOTS];
	uint64_t freed[8][32];
	int nfreed[8];
	uint64_t top;
} heap;

typedef struct ev {
	uint32_t kind;
	uint64_t size, addr;
} ev;

static ev next_event(heap *h)
{
	unsigned k = (unsigned)(rnd() % SLOTS), c = (unsigned)(rnd() % 8);
	if (h->slot[k]) {
		ev e = { 32 + (uint32_t)(rnd() % 4), 0, h->slot[k] };
		unsigned hc = (unsigned)(h->size[k] / 64) % 8;
		if (h->nfreed[hc] < 32)
			h->freed[hc][h->nfreed[hc]++] = h->slot[k];
		h->slot[k] = 0;
		return e;
	}
	uint64_t size = c * 64 + 1 + rnd() % 63, a;
	switch (rnd() % 16) {
	case 0:         /* a free of a block never seen */
		return (ev){ 32, 0, (rnd() & 0xffffff) << 4 };
	case 1:         /* an unmapping, with its length */
		return (ev){ 36, 4096 * (1 + rnd() % 4), (rnd() & 0xffff) << 12 };
	case 2:         /* an odd address (no common zero bits) */
		a = rnd() & 0xffffffffff;
		break;
	default:
		if (h->nfreed[c] && rnd() % 4) {
			a = h->freed[c][--h->nfreed[c]];
		} else {
			a = h->top;
			h->top += (size + 31) & ~15ull;
		}
	}
	h->slot[k] = a;
	h->size[k] = size;
	return (ev){ 1 + (uint32_t)(rnd() % 3), size, a };
}

/* Packs n events as the agent's compact layout (1), framed, into buf. */
static size_t pack_layout1(const ev *e, size_t n, uint8_t *buf, size_t cap)
{
	uint64_t any = 0, *u = calloc(3 * n + 1, sizeof *u);
	uint32_t *w = calloc(2 * n + 1, sizeof *w);
	assert_true(u && w);
	for (size_t i = 0; i < n; i++)
		any |= e[i].addr;
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	b.tid = 7;
	b.layout = 1;
	b.addr_shift = any ? (uint32_t)__builtin_ctzll(any) : 0;
	b.addr_delta = (int64_t *)u, b.size = u + n, b.kind = w, b.stack = w + n;
	uint64_t prev = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = e[i].addr >> b.addr_shift;
		b.addr_delta[b.n_addr_delta++] = (int64_t)(a - prev);
		prev = a;
		b.kind[b.n_kind++] = e[i].kind;
		if (ma_compact_has_size(e[i].kind))
			b.size[b.n_size++] = e[i].size;
		if (e[i].kind < 32)
			b.stack[b.n_stack++] = 1 + (uint32_t)(rnd() % 50);
	}
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	assert_true(ma_record_framed_size(&r) <= cap);
	size_t len = ma_record_pack_framed(&r, buf);
	free(u);
	free(w);
	return len;
}

/* The body of a framed record. */
static const uint8_t *body_of(const uint8_t *p, size_t len, size_t *blen)
{
	uint64_t v;
	int k = ma_varint_get(p, p + len, &v);
	assert_true(k > 0 && v == len - (size_t)k);
	*blen = (size_t)v;
	return p + k;
}

static void same_batch(const Memattach__EventBatch *x, const Memattach__EventBatch *y)
{
	assert_int_equal(x->layout, y->layout);
	assert_int_equal(x->addr_shift, y->addr_shift);
	assert_int_equal(x->n_kind, y->n_kind);
	assert_int_equal(x->n_addr_delta, y->n_addr_delta);
	assert_int_equal(x->n_size, y->n_size);
	assert_int_equal(x->n_stack, y->n_stack);
	for (size_t i = 0; i < x->n_kind; i++) {
		assert_int_equal(x->kind[i], y->kind[i]);
		assert_int_equal(x->addr_delta[i], y->addr_delta[i]);
	}
	for (size_t i = 0; i < x->n_size; i++)
		assert_int_equal(x->size[i], y->size[i]);
	for (size_t i = 0; i < x->n_stack; i++)
		assert_int_equal(x->stack[i], y->stack[i]);
}

/* How often each kind of reference was taken, from a recoded record. */
static void count_refs(const uint8_t *p, size_t len, long seen[5])
{
	size_t blen, eb;
	const uint8_t *b = body_of(p, len, &blen);
	uint64_t v;
	int k = ma_varint_get(b + 1, b + blen, &v);
	eb = (size_t)v;
	ma_batch_span col[MA_BATCH_NCOLS] = { 0 };
	uint32_t sc[4] = { 0 };
	assert_int_equal(ma_batch_fields(b + 1 + k, b + 1 + k + eb, col, sc), 0);
	assert_int_equal(sc[1], 2);
	assert_false(col[2].seen);
	for (int c = 6; c <= 7; c++)
		for (const uint8_t *q = col[c].p, *e = q + col[c].len; q < e;) {
			q += ma_varint_get(q, e, &v);
			seen[!v ? 0 : c == 6 ? 1 : v <= MA_MODEL_K ? 2 : v <= MA_MODEL_K + MA_MODEL_G ? 3 : 4]++;
		}
}

static uint8_t one[1 << 16], two[1 << 16];

/* Every batch comes back as it went in, through resets at random points. */
static void test_round_trip(void **state)
{
	(void)state;
	heap h = { .top = 0x5555550000ull };
	ma_batch_recoder *rc = ma_batch_recoder_new();
	ma_batch_cols in = { 0 }, out = { 0 };
	in.no_model = 1;
	long seen[5] = { 0 };   /* escapes, frees named, class lists, recent, ends */
	ev e[1100];
	for (int round = 0; round < 400; round++) {
		size_t n = rnd() % 8 ? 1 + rnd() % 1024 : rnd() % 3;
		for (size_t i = 0; i < n; i++)
			e[i] = next_event(&h);
		size_t len = pack_layout1(e, n, one, sizeof one), blen, blen2;
		if (rnd() % 50 == 0)
			ma_batch_recoder_reset(rc);
		const uint8_t *rec;
		size_t rlen = ma_batch_recode(rc, one, len, &rec);
		assert_true(rlen > 0);
		count_refs(rec, rlen, seen);
		memcpy(two, rec, rlen);
		const uint8_t *b1 = body_of(one, len, &blen), *b2 = body_of(two, rlen, &blen2);
		const Memattach__Record *x = ma_batch_decode(&in, b1, blen);
		const Memattach__Record *y = ma_batch_decode(&out, b2, blen2);
		assert_non_null(x);
		assert_non_null(y);
		same_batch(x->events, y->events);
	}
	for (int i = 0; i < 5; i++)
		assert_true(seen[i] > 100);
	ma_batch_cols_free(&in);
	ma_batch_cols_free(&out);
	ma_batch_recoder_free(rc);
}

/* Recoded batches with flipped, cut and overwritten bytes, fed in turn to
 * one reader: whatever it accepts or refuses, it reads within bounds (run
 * under ASan by ci.sh), and a batch 0 after damage decodes as it should. */
static void test_damaged_batches(void **state)
{
	(void)state;
	heap h = { .top = 0x1000000ull };
	ma_batch_recoder *rc = ma_batch_recoder_new();
	ma_batch_cols bad = { 0 }, in = { 0 };
	in.no_model = 1;
	ev e[1024];
	int refused = 0, accepted = 0;
	for (int round = 0; round < 1500; round++) {
		size_t n = 1 + rnd() % 200, blen, rlen;
		for (size_t i = 0; i < n; i++)
			e[i] = next_event(&h);
		if (round % 100 == 0)
			ma_batch_recoder_reset(rc);
		size_t len = pack_layout1(e, n, one, sizeof one);
		const uint8_t *rec;
		rlen = ma_batch_recode(rc, one, len, &rec);
		assert_true(rlen > 0);
		memcpy(two, rec, rlen);
		uint8_t *b = (uint8_t *)body_of(two, rlen, &blen);
		int clean = round % 100 == 0 || rnd() % 3 == 0;
		if (!clean) {
			switch (rnd() % 3) {
			case 0:
				b[rnd() % blen] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			case 1:
				blen = rnd() % blen;
				break;
			default:
				b[rnd() % blen] = (uint8_t)rnd();
			}
		}
		const Memattach__Record *y = ma_batch_decode(&bad, b, blen);
		y ? accepted++ : refused++;
		if (round % 100 == 0) {         /* a reset heals */
			size_t b1len;
			const uint8_t *b1 = body_of(one, len, &b1len);
			const Memattach__Record *x = ma_batch_decode(&in, b1, b1len);
			assert_non_null(x);
			assert_non_null(y);
			same_batch(x->events, y->events);
		}
	}
	assert_true(refused > 100);
	assert_true(accepted >= 15);    /* each batch 0 at least */
	ma_batch_cols_free(&bad);
	ma_batch_cols_free(&in);
	ma_batch_recoder_free(rc);
}

/* A layout 2 batch of kinds, sizes, refs and escapes, as a Record body. */
static size_t pack_layout2(uint32_t batchno, uint32_t shift, const uint32_t *kind, size_t n,
			   const uint32_t *fref, size_t nf, const uint32_t *aref, size_t na,
			   const int64_t *esc, size_t ne)
{
	uint64_t size[16];
	uint32_t stack[16];
	size_t nsize = 0, nstack = 0;
	for (size_t i = 0; i < n; i++) {
		if (ma_compact_has_size(kind[i]))
			size[nsize++] = 100;
		if (kind[i] < 32)
			stack[nstack++] = 1;
	}
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	b.layout = 2, b.addr_shift = shift, b.model_batch = batchno;
	b.kind = (uint32_t *)kind, b.n_kind = n;
	b.size = size, b.n_size = nsize, b.stack = stack, b.n_stack = nstack;
	b.free_ref = (uint32_t *)fref, b.n_free_ref = nf;
	b.alloc_ref = (uint32_t *)aref, b.n_alloc_ref = na;
	b.addr_escape = (int64_t *)esc, b.n_addr_escape = ne;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	return memattach__record__pack(&r, one);
}

/* References past what the model holds, escapes missing or left over,
 * batches out of turn: refused, and the model stays lost until a reset. */
static void test_hostile_refs(void **state)
{
	(void)state;
	ma_batch_cols c = { 0 };
	const uint32_t m1[] = { 1 }, f1[] = { 32 }, mf[] = { 1, 32, 1 };
	const uint32_t zero[] = { 0 }, r1[] = { 1 }, r2[] = { 2 }, big[] = { UINT32_MAX };
	const uint32_t rmax[] = { MA_MODEL_K + MA_MODEL_G + 2 }, rg[] = { MA_MODEL_K + 1 };
	const uint32_t a0k[] = { 0, 1 };
	const int64_t e1[] = { 64 }, e2[] = { 64, 1 };
	/* a first batch that names what is not there */
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, r1, 1, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, rg, 1, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, big, 1, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, f1, 1, r1, 1, NULL, 0, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, f1, 1, big, 1, NULL, 0, NULL, 0)));
	/* an escape missing, one too many, a ref column too short or long */
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, zero, 1, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, zero, 1, e2, 2)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, NULL, 0, e1, 1)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, zero, 1, zero, 1, e2, 2)));
	/* a shift past 63 */
	assert_null(ma_batch_decode(&c, one, pack_layout2(0, 64, m1, 1, NULL, 0, zero, 1, e1, 1)));
	/* a batch out of turn right after a reset */
	assert_null(ma_batch_decode(&c, one, pack_layout2(3, 4, m1, 1, NULL, 0, zero, 1, e1, 1)));
	/* malloc (escape 64 << 4), free of live block 1, malloc of the class's
	 * first freed block: the same address again */
	const Memattach__Record *r =
		ma_batch_decode(&c, one, pack_layout2(0, 4, mf, 3, r1, 1, a0k, 2, e1, 1));
	assert_non_null(r);
	assert_int_equal(r->events->layout, 1);
	assert_int_equal(r->events->n_addr_delta, 3);
	assert_int_equal(r->events->addr_delta[0], 64);
	assert_int_equal(r->events->addr_delta[1], 0);
	assert_int_equal(r->events->addr_delta[2], 0);
	/* live set: 1 block; index 2 is past it, the class list is empty */
	assert_null(ma_batch_decode(&c, one, pack_layout2(1, 4, f1, 1, r2, 1, NULL, 0, NULL, 0)));
	/* lost: even a good batch 2 is refused, until a batch 0 */
	assert_null(ma_batch_decode(&c, one, pack_layout2(2, 4, m1, 1, NULL, 0, zero, 1, e1, 1)));
	assert_non_null(ma_batch_decode(&c, one, pack_layout2(0, 4, m1, 1, NULL, 0, zero, 1, e1, 1)));
	assert_non_null(ma_batch_decode(&c, one, pack_layout2(1, 4, f1, 1, r1, 1, NULL, 0, NULL, 0)));
	/* the block freed last of any class: K + 1; past the live set's ends */
	assert_non_null(ma_batch_decode(&c, one, pack_layout2(2, 4, m1, 1, NULL, 0, rg, 1, NULL, 0)));
	assert_null(ma_batch_decode(&c, one, pack_layout2(3, 4, m1, 1, NULL, 0, rmax, 1, NULL, 0)));
	/* layout 2's fields in another layout are protobuf-c's to read */
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	b.layout = 1, b.kind = (uint32_t *)m1, b.n_kind = 1;
	b.alloc_ref = (uint32_t *)zero, b.n_alloc_ref = 1;
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	rec.r_case = MEMATTACH__RECORD__R_EVENTS;
	rec.events = &b;
	assert_null(ma_batch_decode(&c, one, memattach__record__pack(&rec, one)));
	b.n_alloc_ref = 0, b.model_batch = 1;
	assert_null(ma_batch_decode(&c, one, memattach__record__pack(&rec, one)));
	ma_batch_cols_free(&c);
}

/* Records through a capture file of several zstd frames: each comes back
 * as it went in, borrowed (layout 1 columns) and unpacked alike. */
static void test_through_file(void **state)
{
	(void)state;
	char *path = synth_tmpname("addrmodel");
	char err[512];
	ma_capture_writer *w = ma_capture_writer_open(path, err, sizeof err);
	assert_non_null(w);
	heap h = { .top = 0x7f0000000000ull };
	enum { NB = 400 };
	static uint8_t *recs[NB];
	static size_t lens[NB];
	ev e[1024];
	for (int i = 0; i < NB; i++) {
		for (size_t k = 0; k < 1024; k++)
			e[k] = next_event(&h);
		lens[i] = pack_layout1(e, 1024, one, sizeof one);
		recs[i] = malloc(lens[i]);
		memcpy(recs[i], one, lens[i]);
		assert_int_equal(ma_capture_writer_write(w, recs[i], lens[i]), 0);
	}
	assert_int_equal(ma_capture_writer_close(w), 0);
	for (int borrow = 0; borrow < 2; borrow++) {
		ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
		assert_non_null(r);
		ma_batch_cols in = { 0 };
		in.no_model = 1;
		Memattach__Record *rec;
		int n = 0, borrowed = 0, rc;
		while ((rc = borrow ? ma_capture_reader_next_borrow(r, &rec, &borrowed)
				    : ma_capture_reader_next(r, &rec)) > 0) {
			size_t blen;
			const uint8_t *b = body_of(recs[n], lens[n], &blen);
			const Memattach__Record *x = ma_batch_decode(&in, b, blen);
			assert_non_null(x);
			same_batch(x->events, rec->events);
			if (!borrowed)
				ma_capture_record_free(rec);
			n++;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(n, NB);
		ma_batch_cols_free(&in);
		ma_capture_reader_close(r);
	}
	for (int i = 0; i < NB; i++)
		free(recs[i]);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hostile_refs),
		cmocka_unit_test(test_damaged_batches),
		cmocka_unit_test(test_through_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_batch_decode.c — the direct EventBatch decoder gives exactly what
 * protobuf-c gives for every record it accepts, and declines (NULL) every
 * encoding but the plain one, so protobuf-c keeps the last word there. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/capture/batch_decode.h"
#include "memattach.pb-c.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A value of 1 to 10 varint bytes. */
static uint64_t wide(void)
{
	return rnd() >> (rnd() % 64);
}

/* Packs a random batch (either layout) into buf; returns its length. */
static size_t random_record(uint8_t *buf, size_t cap)
{
	size_t n = 1 + rnd() % 1100;
	uint64_t *u = calloc(4 * n, sizeof *u);
	uint32_t *w = calloc(2 * n, sizeof *w);
	assert_non_null(u);
	assert_non_null(w);
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	b.tid = (uint32_t)rnd();
	b.layout = (uint32_t)(rnd() % 3);
	b.addr_shift = (uint32_t)(rnd() % 70);
	b.seq_delta = u, b.n_seq_delta = rnd() % 4 ? n : rnd() % n;
	b.time_delta = u + n, b.n_time_delta = rnd() % 4 ? n : 0;
	b.addr_delta = (int64_t *)(u + 2 * n), b.n_addr_delta = n;
	b.size = u + 3 * n, b.n_size = rnd() % 8 ? n : 0;
	b.kind = w, b.n_kind = n;
	b.stack = w + n, b.n_stack = rnd() % 4 ? n : 0;
	for (size_t i = 0; i < 4 * n; i++)
		u[i] = wide();
	for (size_t i = 0; i < 2 * n; i++)
		w[i] = (uint32_t)wide();
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	size_t len = memattach__record__get_packed_size(&r);
	assert_true(len <= cap);
	memattach__record__pack(&r, buf);
	free(u);
	free(w);
	return len;
}

static void same_batch(const Memattach__EventBatch *x, const Memattach__EventBatch *y)
{
	assert_int_equal(x->tid, y->tid);
	assert_int_equal(x->layout, y->layout);
	assert_int_equal(x->addr_shift, y->addr_shift);
#define SAME(col, n)                                                             \
	assert_int_equal(x->n, y->n);                                            \
	if (x->n)                                                                \
		assert_memory_equal(x->col, y->col, x->n * sizeof *x->col)
	SAME(seq_delta, n_seq_delta);
	SAME(time_delta, n_time_delta);
	SAME(addr_delta, n_addr_delta);
	SAME(size, n_size);
	SAME(kind, n_kind);
	SAME(stack, n_stack);
#undef SAME
}

/* Where the fast decoder accepts, protobuf-c agrees on every field.
 * Returns 1 when it accepted. */
static int check_agrees(ma_batch_cols *c, const uint8_t *p, size_t len)
{
	const Memattach__Record *f = ma_batch_decode(c, p, len);
	if (!f)
		return 0;
	Memattach__Record *m = memattach__record__unpack(NULL, len, p);
	assert_non_null(m);
	assert_int_equal(m->r_case, MEMATTACH__RECORD__R_EVENTS);
	assert_int_equal(f->r_case, MEMATTACH__RECORD__R_EVENTS);
	same_batch(f->events, m->events);
	memattach__record__free_unpacked(m, NULL);
	return 1;
}

static uint8_t buf[1 << 17];

static void test_plain_batches_decode_as_protobuf_c(void **state)
{
	(void)state;
	ma_batch_cols c = { 0 };
	for (int i = 0; i < 300; i++) {
		size_t len = random_record(buf, sizeof buf);
		assert_int_equal(check_agrees(&c, buf, len), 1);
	}
	ma_batch_cols_free(&c);
}

/* Flipped, cut and spliced bytes: accepted only when protobuf-c reads
 * the same; at least some are declined. */
static void test_damaged_batches_never_differ(void **state)
{
	(void)state;
	ma_batch_cols c = { 0 };
	int declined = 0, accepted = 0;
	for (int i = 0; i < 3000; i++) {
		size_t len = random_record(buf, sizeof buf);
		switch (i % 3) {
		case 0:
			buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 1:
			len = 1 + rnd() % len;
			break;
		default:
			buf[rnd() % len] = (uint8_t)rnd();
			break;
		}
		if (check_agrees(&c, buf, len))
			accepted++;
		else
			declined++;
	}
	assert_true(declined > 0);
	assert_true(accepted > 0);
	ma_batch_cols_free(&c);
}

/* Encodings protobuf-c accepts but memattach never writes. */
static void test_other_encodings_are_declined(void **state)
{
	(void)state;
	ma_batch_cols c = { 0 };
	/* kind as an unpacked repeated field (tag 6, wire type 0) */
	static const uint8_t unpacked[] = { 0x12, 0x04, 0x08, 0x07, 0x30, 0x01 };
	/* the same column twice (protobuf-c concatenates) */
	static const uint8_t twice[] = { 0x12, 0x06, 0x32, 0x01, 0x01, 0x32, 0x01, 0x02 };
	/* an unknown field 9 */
	static const uint8_t unknown[] = { 0x12, 0x04, 0x08, 0x07, 0x48, 0x01 };
	/* a second Record field after the batch */
	static const uint8_t extra[] = { 0x12, 0x02, 0x08, 0x07, 0x3a, 0x00 };
	/* tid twice (protobuf-c keeps the last) */
	static const uint8_t tid2[] = { 0x12, 0x04, 0x08, 0x07, 0x08, 0x09 };
	/* a varint of 11 bytes in a column */
	static const uint8_t longv[] = { 0x12, 0x0d, 0x32, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80,
					 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	const uint8_t *cases[] = { unpacked, twice, unknown, extra, tid2, longv };
	size_t lens[] = { sizeof unpacked, sizeof twice, sizeof unknown, sizeof extra,
			  sizeof tid2, sizeof longv };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_null(ma_batch_decode(&c, cases[i], lens[i]));
	/* and the plain form of the first is taken */
	static const uint8_t plain[] = { 0x12, 0x05, 0x08, 0x07, 0x32, 0x01, 0x01 };
	assert_int_equal(check_agrees(&c, plain, sizeof plain), 1);
	ma_batch_cols_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_batches_decode_as_protobuf_c),
		cmocka_unit_test(test_damaged_batches_never_differ),
		cmocka_unit_test(test_other_encodings_are_declined),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_schema.c — the framing helpers and the schema: every record type
 * survives pack → framed bytes → unpack → pack byte for byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "record_io.h"
#include "records.h"

static void test_varint(void **state)
{
	(void)state;
	const uint64_t vals[] = { 0, 1, 127, 128, 255, 300, 16383, 16384, (1ull << 32) - 1,
				  1ull << 32, (1ull << 63), UINT64_MAX };
	const int lens[] = { 1, 1, 1, 2, 2, 2, 2, 3, 5, 5, 10, 10 };
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		uint8_t b[10];
		size_t n = ma_varint_put(b, vals[i]);
		assert_int_equal(n, lens[i]);
		uint64_t v = 0;
		assert_int_equal(ma_varint_get(b, b + n, &v), (int)n);
		assert_true(v == vals[i]);
		/* Every shorter prefix is "need more bytes". */
		for (size_t k = 0; k < n; k++)
			assert_int_equal(ma_varint_get(b, b + k, &v), 0);
	}
	uint8_t bad[11];
	memset(bad, 0x80, sizeof bad);
	uint64_t v;
	assert_int_equal(ma_varint_get(bad, bad + sizeof bad, &v), -1);
}

static void test_kinds(void **state)
{
	(void)state;
	assert_string_equal(ma_kind_name(MEMATTACH__EVENT_KIND__MALLOC), "malloc");
	assert_string_equal(ma_kind_name(MEMATTACH__EVENT_KIND__CALLOC), "calloc");
	assert_string_equal(ma_kind_name(MEMATTACH__EVENT_KIND__FREE), "free");
	assert_string_equal(ma_kind_name(MEMATTACH__EVENT_KIND__MUNMAP), "munmap");
	assert_string_equal(ma_kind_name(999), "unknown");
	for (uint32_t k = 1; k < 32; k++)
		assert_true(ma_kind_is_alloc(k));
	assert_false(ma_kind_is_alloc(0));
	assert_false(ma_kind_is_alloc(MEMATTACH__EVENT_KIND__FREE));
	assert_false(ma_kind_is_alloc(MEMATTACH__EVENT_KIND__PYMEM_OBJ_FREE));
}

static void test_every_record_round_trip(void **state)
{
	(void)state;
	for (unsigned i = 0; i < 10 * TEST_RECORD_TYPES; i++) {
		size_t len;
		uint8_t *b = test_record_framed(i, &len);
		uint64_t body;
		int k = ma_varint_get(b, b + len, &body);
		assert_true(k > 0);
		assert_int_equal((size_t)k + body, len);
		Memattach__Record *r = memattach__record__unpack(NULL, body, b + k);
		assert_non_null(r);
		assert_int_equal(r->r_case, (int)(i % TEST_RECORD_TYPES) + 1);
		switch (r->r_case) {
		case MEMATTACH__RECORD__R_HEADER:
			assert_int_equal(r->header->pid, 1000 + i);
			assert_int_equal(r->header->first_seq, i);
			break;
		case MEMATTACH__RECORD__R_EVENTS:
			assert_int_equal(r->events->n_seq_delta, 5);
			assert_int_equal(r->events->seq_delta[0], 1000 + i);
			assert_true(r->events->addr_delta[1] == -16);
			break;
		case MEMATTACH__RECORD__R_STACK:
			assert_int_equal(r->stack->n_frames, 1 + i % 40);
			break;
		case MEMATTACH__RECORD__R_MODULE:
			assert_int_equal(r->module->n_segments, 2);
			assert_int_equal(r->module->build_id.len, 20);
			break;
		case MEMATTACH__RECORD__R_SYMBOL:
			assert_int_equal(r->symbol->n_inlined, 1);
			assert_string_equal(r->symbol->inlined[0]->function, "inlined");
			break;
		default:
			break;
		}
		size_t len2;
		uint8_t *b2 = test_pack_framed(r, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(b2, b, len);
		free(b2);
		memattach__record__free_unpacked(r, NULL);
		free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_every_record_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_py_code.c — agent/python/py_code.c's line tables, each CPython
 * format (3.8/3.9 co_lnotab, 3.10 co_linetable pairs, 3.11+ location
 * table), against the lines CPython itself gives each instruction
 * (py_linetables.h, made by gen_py_linetables.py from the pyenv
 * interpreters), and the checks on a table that is not one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "python/py_agent.h"

struct ma_py_state ma_py;
int ma_py_active;

struct lt_range { unsigned start, end; int line; };
struct lt_code {
	int minor;
	const char *python, *name;
	int first;
	unsigned code_len;
	const unsigned char *table;
	unsigned table_len;
	const struct lt_range *ranges;
	unsigned nranges;
};
#include "py_linetables.h"

/* Fake objects: a code object and a bytes object with the fields the
 * decoder reads, at offsets of our choosing. */
enum { CO_FIRST = 24, CO_TABLE = 32, BY_SIZE = 16, BY_DATA = 32 };
static const uintptr_t bytes_type_obj[2] __attribute__((aligned(8)));
static uint64_t code_obj[8];

static void *make_bytes(const unsigned char *data, long n, uintptr_t type)
{
	uint64_t *b = calloc(1, BY_DATA + (size_t)n + 8);
	assert_non_null(b);
	b[1] = type;
	memcpy((char *)b + BY_SIZE, &n, sizeof n);
	memcpy((char *)b + BY_DATA, data, (size_t)n);
	return b;
}

static void set_code(int minor, int first, void *table)
{
	memset(&ma_py, 0, sizeof ma_py);
	ma_py.l.major = 3;
	ma_py.l.minor = minor;
	ma_py.l.co_firstlineno = CO_FIRST;
	ma_py.l.co_linetable = CO_TABLE;
	ma_py.l.bytes_size = BY_SIZE;
	ma_py.l.bytes_data = BY_DATA;
	ma_py.bytes_type = (uintptr_t)bytes_type_obj;
	memset(code_obj, 0, sizeof code_obj);
	memcpy((char *)code_obj + CO_FIRST, &first, sizeof first);
	uintptr_t t = (uintptr_t)table;
	memcpy((char *)code_obj + CO_TABLE, &t, sizeof t);
}

/* CPython's line for byte offset off: the range holding it, else none. */
static int want_line(const struct lt_code *c, unsigned off)
{
	for (unsigned i = 0; i < c->nranges; i++)
		if (off >= c->ranges[i].start && off < c->ranges[i].end)
			return c->ranges[i].line > 0 ? c->ranges[i].line : 0;
	return 0;
}

static void check_version(int minor)
{
	unsigned codes = 0, offsets = 0;
	for (size_t k = 0; k < sizeof lt_codes / sizeof lt_codes[0]; k++) {
		const struct lt_code *c = &lt_codes[k];
		if (c->minor != minor)
			continue;
		void *b = make_bytes(c->table, c->table_len, (uintptr_t)bytes_type_obj);
		set_code(minor, c->first, b);
		for (unsigned off = 0; off < c->code_len; off += 2, offsets++) {
			uint32_t got = ma_py_code_line((uintptr_t)code_obj, off);
			int want = want_line(c, off);
			if (got != (uint32_t)want)
				fail_msg("CPython %s, code %s (first line %d): offset %u is line %d, decoded %u",
					 c->python, c->name, c->first, off, want, got);
		}
		free(b);
		codes++;
	}
	/* the data must hold this version, with enough in it to mean something */
	assert_true(codes >= 10);
	assert_true(offsets >= 1000);
}

static void test_py38(void **s) { (void)s; check_version(8); }
static void test_py39(void **s) { (void)s; check_version(9); }
static void test_py310(void **s) { (void)s; check_version(10); }
static void test_py311(void **s) { (void)s; check_version(11); }
static void test_py312(void **s) { (void)s; check_version(12); }
static void test_py313(void **s) { (void)s; check_version(13); }

/* A line table that is not a bytes object (a code object being built, a
 * freed one) gives the first line; an absurd size gives none. */
static void test_not_a_table(void **s)
{
	(void)s;
	static const unsigned char t[] = {8, 1};
	void *b = make_bytes(t, sizeof t, 0x1234560);   /* some other type */
	set_code(9, 42, b);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 4), 42);
	set_code(9, 42, NULL);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 4), 42);
	free(b);
	b = make_bytes(t, sizeof t, (uintptr_t)bytes_type_obj);
	long huge = 1l << 30, neg = -5;
	memcpy((char *)b + BY_SIZE, &huge, sizeof huge);
	set_code(11, 42, b);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 0), 0);
	memcpy((char *)b + BY_SIZE, &neg, sizeof neg);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 0), 0);
	free(b);
}

/* Past the end of a 3.10+ table there is no line (a 3.8 table holds the
 * last line to the end of the code). */
static void test_past_the_end(void **s)
{
	(void)s;
	static const unsigned char t310[] = {4, 1, 4, 2};        /* 2 ranges of 4 bytes */
	static const unsigned char t311[] = {0x80 | 10 << 3 | 1, 0, 4}; /* one-line form, 2 units */
	static const unsigned char t38[] = {4, 1, 4, 2};
	void *b = make_bytes(t310, sizeof t310, (uintptr_t)bytes_type_obj);
	set_code(10, 7, b);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 2), 8);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 6), 10);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 8), 0);
	free(b);
	b = make_bytes(t311, sizeof t311, (uintptr_t)bytes_type_obj);
	set_code(11, 7, b);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 2), 7);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 4), 0);
	free(b);
	b = make_bytes(t38, sizeof t38, (uintptr_t)bytes_type_obj);
	set_code(8, 7, b);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 2), 7);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 4), 8);
	assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 100), 10);
	free(b);
}

/* Every 3.11+ entry kind, with a line step that takes a three-byte
 * varint and one backwards (real tables seldom need either). */
static void test_311_entries(void **s)
{
	(void)s;
	static const unsigned char t[] = {
		0x80 | 13 << 3 | 0, 32 | 64, 56 | 64, 4,  /* no column: +10000 (svarint 20000) */
		0x80 | 14 << 3 | 1, 7, 0, 0, 0,            /* long form, 2 units: -3 */
		0x80 | 15 << 3 | 0,                        /* no location */
		0x80 | 3 << 3 | 0, 5,                      /* short form: same line */
		0x80 | 12 << 3 | 0, 1, 2,                  /* one line form: +2 */
	};
	void *b = make_bytes(t, sizeof t, (uintptr_t)bytes_type_obj);
	set_code(12, 1, b);
	static const uint32_t want[] = {10001, 9998, 9998, 0, 9998, 10000, 0};
	for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++)
		assert_int_equal(ma_py_code_line((uintptr_t)code_obj, 2 * i), want[i]);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_py38),
		cmocka_unit_test(test_py39),
		cmocka_unit_test(test_py310),
		cmocka_unit_test(test_py311),
		cmocka_unit_test(test_py312),
		cmocka_unit_test(test_py313),
		cmocka_unit_test(test_not_a_table),
		cmocka_unit_test(test_past_the_end),
		cmocka_unit_test(test_311_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_huge_table.c — a table grown in place keeps its bytes and is zero
 * beyond them, across small and 2 MiB sizes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cli/util/huge_table.h"

#define MIB ((size_t)1 << 20)

static void fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 4093)
		p[i] = (unsigned char)(i / 4093 % 255 + 1);
}

static void check(const unsigned char *p, size_t kept, size_t n)
{
	for (size_t i = 0; i < n; i += 4093)
		assert_int_equal(p[i], i < kept ? (unsigned char)(i / 4093 % 255 + 1) : 0);
	assert_int_equal(p[n - 1], 0);        /* past kept: every size here doubles or more */
}

static void test_grow_through_sizes(void **state)
{
	(void)state;
	size_t sizes[] = { MIB / 2, MIB, 2 * MIB, 4 * MIB, 16 * MIB };
	unsigned char *p = ma_huge_zalloc(sizes[0]);
	assert_non_null(p);
	check(p, 0, sizes[0]);
	fill(p, sizes[0]);
	for (size_t k = 1; k < sizeof sizes / sizeof *sizes; k++) {
		p = ma_huge_grow(p, sizes[k - 1], sizes[k]);
		assert_non_null(p);
		check(p, sizes[k - 1], sizes[k]);
		fill(p, sizes[k]);
	}
	ma_huge_free(p, sizes[4]);
}

static void test_huge_from_start(void **state)
{
	(void)state;
	unsigned char *p = ma_huge_zalloc(2 * MIB);
	assert_non_null(p);
	check(p, 0, 2 * MIB);
	fill(p, 2 * MIB);
	p = ma_huge_grow(p, 2 * MIB, 8 * MIB);
	assert_non_null(p);
	check(p, 2 * MIB, 8 * MIB);
	ma_huge_free(p, 8 * MIB);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_through_sizes),
		cmocka_unit_test(test_huge_from_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

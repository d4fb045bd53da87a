/* test_parse_units.c — sizes, durations, bounded integers: exact values
 * and the wording of errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cli/util/parse_units.h"

static uint64_t size_ok(const char *s)
{
	uint64_t v = 0;
	char err[256] = "";
	int rc = ma_parse_size(s, &v, err, sizeof err);
	if (rc)
		fail_msg("'%s' should parse: %s", s, err);
	return v;
}

static void size_bad(const char *s, const char *needle)
{
	uint64_t v = 12345;
	char err[256] = "";
	assert_int_equal(ma_parse_size(s, &v, err, sizeof err), -1);
	assert_int_equal(v, 12345);
	if (!strstr(err, needle))
		fail_msg("error for '%s' is '%s', expected it to contain '%s'", s, err, needle);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(size_ok("0"), 0);
	assert_int_equal(size_ok("4096"), 4096);
	assert_int_equal(size_ok("10B"), 10);
	assert_int_equal(size_ok("1KB"), 1000);
	assert_int_equal(size_ok("1KiB"), 1024);
	assert_int_equal(size_ok("1.5GiB"), 1610612736ull);
	assert_int_equal(size_ok("1.5GB"), 1500000000ull);
	assert_int_equal(size_ok("2MiB"), 2097152);
	assert_int_equal(size_ok("3 MB"), 3000000);
	assert_int_equal(size_ok("1TiB"), 1ull << 40);
	assert_int_equal(size_ok("2TB"), 2000000000000ull);
	assert_int_equal(size_ok("0.5KiB"), 512);
	assert_int_equal(size_ok(".5KiB"), 512);
	assert_int_equal(size_ok("1.0005KB"), 1001);    /* 1000.5 rounds to nearest */
	assert_int_equal(size_ok("7mib"), 7ull << 20);
	assert_int_equal(size_ok("18446744073709551615"), UINT64_MAX);
	assert_int_equal(size_ok("16383.999999999999TiB"), 18014398509481983ull);
}

static void test_size_errors(void **state)
{
	(void)state;
	size_bad("10XB", "unknown unit 'XB'");
	size_bad("10XB", "use B, KB, MB, GB");
	size_bad("10XB", "bad size '10XB'");
	size_bad("-5MB", "negative");
	size_bad("MB", "no number");
	size_bad("", "empty");
	size_bad(NULL, "empty");
	size_bad("18446744073709551616", "too large");
	size_bad("20000000TiB", "too large");
	size_bad("1.2.3", "unknown unit");
	size_bad("5 M", "unknown unit 'M'");
	size_bad(".", "no number");
}

static uint64_t dur_ok(const char *s)
{
	uint64_t v = 0;
	char err[256] = "";
	if (ma_parse_duration(s, &v, err, sizeof err))
		fail_msg("'%s' should parse: %s", s, err);
	return v;
}

static void dur_bad(const char *s, const char *needle)
{
	uint64_t v = 7;
	char err[256] = "";
	assert_int_equal(ma_parse_duration(s, &v, err, sizeof err), -1);
	assert_int_equal(v, 7);
	if (!strstr(err, needle))
		fail_msg("error for '%s' is '%s', expected '%s'", s, err, needle);
}

static void test_durations(void **state)
{
	(void)state;
	assert_int_equal(dur_ok("90s"), 90000000000ull);
	assert_int_equal(dur_ok("5m"), 300000000000ull);
	assert_int_equal(dur_ok("1h"), 3600000000000ull);
	assert_int_equal(dur_ok("1.5"), 1500000000ull);
	assert_int_equal(dur_ok("250ms"), 250000000ull);
	assert_int_equal(dur_ok("10us"), 10000ull);
	assert_int_equal(dur_ok("7ns"), 7ull);
	assert_int_equal(dur_ok("0"), 0);
	assert_int_equal(dur_ok("0.001s"), 1000000ull);
	assert_int_equal(dur_ok("1d"), 86400000000000ull);
	dur_bad("10x", "unknown unit 'x'");
	dur_bad("-1s", "negative");
	dur_bad("s", "no number");
	dur_bad("", "empty");
	dur_bad("1000000000000h", "too large");
}

static void test_uint_range(void **state)
{
	(void)state;
	uint64_t v = 0;
	char err[256];
	assert_int_equal(ma_parse_uint_range("1", 1, 256, "--native-depth", &v, err, sizeof err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(ma_parse_uint_range("256", 1, 256, "--native-depth", &v, err, sizeof err), 0);
	assert_int_equal(v, 256);
	v = 99;
	const char *bad[] = { "0", "257", "", "abc", "12x", "-1", "99999999999999999999999", " 5" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(ma_parse_uint_range(bad[i], 1, 256, "--native-depth", &v, err, sizeof err), -1);
		assert_non_null(strstr(err, "--native-depth"));
		assert_non_null(strstr(err, "from 1 to 256"));
	}
	assert_int_equal(v, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_size_errors),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_uint_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

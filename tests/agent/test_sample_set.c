/* test_sample_set.c — the set of sampled addresses (agent/sampler.c): what
 * every free asks (ma_sample_maybe, then ma_sample_forget) must find every
 * member, through growth and removals, and lose none to the filters in
 * front of the table (the home-slot bitmap and the header's zones). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "sampler.h"

/* sampler.c's neighbours in the agent (not linked here). */
static struct ma_thread no_threads;
void ma_threads_lock(void) {}
void ma_threads_unlock(void) {}
struct ma_thread *ma_threads_first(void) { (void)no_threads; return NULL; }
void ma_warn(int lasting, const char *fmt, ...) { (void)lasting; (void)fmt; }
struct ma_thread *ma_thread_attach(void) { return NULL; }

#define N 300000   /* past MIN_BITS' table: grows 14 -> 20 bits */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_addr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng & 0x00007ffffffffff0ull) | 0x10;   /* heap-like, 16-aligned, never 0 */
}

/* Whether a free of a would be recorded (the hooks' question). */
static int freed_as_sampled(uint64_t a)
{
	return ma_sample_maybe(a) && ma_sample_forget(a);
}

static void restart(void)
{
	ma_cfg.sample = 4096;
	ma_cfg.sample_seed = 1;
	ma_sample_session_start();
	assert_int_not_equal(ma_cfg.sample, 0);   /* libm found, set mapped */
}

static void test_members_found_once(void **state)
{
	(void)state;
	restart();
	uint64_t *a = malloc(N * sizeof(*a));
	assert_non_null(a);
	for (size_t i = 0; i < N; i++) {
		a[i] = next_addr();
		ma_sample_restore(a[i]);
	}
	/* Every other one freed: each found exactly once. */
	for (size_t i = 0; i < N; i += 2) {
		assert_true(freed_as_sampled(a[i]));
		assert_false(freed_as_sampled(a[i]));
	}
	for (size_t i = 1; i < N; i += 2)
		assert_true(ma_sample_maybe(a[i]));
	for (size_t i = 1; i < N; i += 2)
		assert_true(freed_as_sampled(a[i]));
	/* Empty again: the zones all cleared, so no free passes the header. */
	size_t passed = 0;
	for (size_t i = 0; i < N; i++)
		passed += ma_sample_maybe(next_addr());
	assert_int_equal(passed, 0);
	free(a);
}

/* A few live samples (a program's usual state): the zones answer for most
 * addresses, and never wrongly. */
static void test_few_members_zones(void **state)
{
	(void)state;
	restart();
	uint64_t live[8];
	for (size_t i = 0; i < 8; i++) {
		live[i] = next_addr();
		ma_sample_restore(live[i]);
	}
	size_t passed = 0;
	for (size_t i = 0; i < 100000; i++)
		passed += ma_sample_maybe(next_addr());
	assert_true(passed < 100);   /* a bitmap bit per slot: ~8 / 16384 */
	for (size_t i = 0; i < 8; i++)
		assert_true(freed_as_sampled(live[i]));
	assert_int_equal(ma_sample_set.zones[0] | ma_sample_set.zones[1] |
			 ma_sample_set.zones[2] | ma_sample_set.zones[3], 0);
}

/* A new session starts from an empty set. */
static void test_session_start_empties(void **state)
{
	(void)state;
	restart();
	uint64_t a = next_addr();
	ma_sample_restore(a);
	restart();
	assert_false(ma_sample_maybe(a));
	assert_false(ma_sample_forget(a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_found_once),
		cmocka_unit_test(test_few_members_zones),
		cmocka_unit_test(test_session_start_empties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

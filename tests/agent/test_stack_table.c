/* test_stack_table.c — agent/stack_table.c: one id per distinct stack,
 * each stack handed to the writer once (oldest first), hash collisions,
 * the full table, real unwinds, and two threads inserting the same
 * stacks at once.  The file is included to reach its table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack_table.c"

/* No Python in this process. */
int ma_py_active;
int ma_py_init(void) { return 0; }
void ma_py_eval_range(uintptr_t *lo, uintptr_t *hi) { *lo = *hi = 0; }
int ma_py_merge_prepare(struct ma_py_merging *pm) { (void)pm; return 0; }
uint32_t ma_py_merge(const struct ma_py_merging *pm, const uint64_t *nat, uint32_t n, uint64_t *out,
		     uint32_t cap, uint64_t *sum, int *summed) { return 0; }
uint32_t ma_py_frames(uint64_t *out, uint32_t cap, int gil, struct ma_py_known *k) { return 0; }
void ma_py_known_set(struct ma_py_known *k, uint32_t stack) { }
_Atomic uint64_t ma_py_code_epoch;
/* libunwind may keep its pipe here: this is no target. */
int ma_unwind_fds_redirect(void) { return 0; }
/* No thread records (event_buffer.c is not linked). */
struct ma_thread *ma_thread_attach(void) { return NULL; }
struct ma_thread *ma_threads_first(void) { return NULL; }
/* The unwind check's warnings (warnings.c is not linked). */
void ma_warn(int lasting, const char *fmt, ...) { (void)lasting; (void)fmt; }

/* Frames of stack number k: distinct for distinct k, 1 to 8 frames. */
static uint32_t frames_of(uint32_t k, uint64_t *f)
{
	uint32_t n = 1 + k % 8;
	for (uint32_t i = 0; i < n; i++)
		f[i] = 0x400000 + (uint64_t)k * 64 + i;
	return n;
}

static uint32_t intern_thread_cached_id(const uint64_t *f, uint32_t n)
{
	struct ma_stack *s = intern_thread_cached(f, n);
	return s ? s->id : 0;
}

/* The agent's own interning; with no thread record (above) it goes
 * straight to the shared table. */
static uint32_t intern_k(uint32_t k)
{
	uint64_t f[8];
	return intern_thread_cached_id(f, frames_of(k, f));
}

static uint32_t count_new(uint32_t *first_id)
{
	uint32_t n = 0;
	for (struct ma_stack *s = ma_stacks_take_new(); s; s = s->next_new) {
		if (!n && first_id)
			*first_id = s->id;
		n++;
	}
	return n;
}

static int setup(void **s)
{
	(void)s;
	assert_int_equal(ma_stacks_init(), 0);
	ma_stacks_set_agent_range(0, 0);
	ma_stacks_take_new();
	return 0;
}

/* Same frames, same id; each new stack published once, oldest first. */
static void test_dedup(void **s)
{
	(void)s;
	uint32_t a = intern_k(1), b = intern_k(2), c = intern_k(3);
	assert_true(a && b && c);
	assert_true(a != b && b != c && a != c);
	assert_int_equal(intern_k(2), b);
	assert_int_equal(intern_k(1), a);
	uint32_t first = 0;
	assert_int_equal(count_new(&first), 3);
	assert_int_equal(first, a);
	assert_int_equal(intern_k(3), c);
	assert_int_equal(count_new(NULL), 0);
	/* a prefix of a stack is another stack */
	uint64_t f[8];
	uint32_t n = frames_of(7, f);
	uint32_t whole = intern_thread_cached_id(f, n), part = intern_thread_cached_id(f, n - 1);
	assert_true(whole && part && whole != part);
	assert_int_equal(count_new(NULL), 2);
}

/* Different stacks with one hash (forced): both kept, each found again. */
static void test_collision(void **s)
{
	(void)s;
	uint64_t f1[3] = {1, 2, 3}, f2[3] = {1, 2, 4};
	struct ma_stack *a = stack_intern_h(f1, 3, 0xabcdef);
	struct ma_stack *b = stack_intern_h(f2, 3, 0xabcdef);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a != b && a->id != b->id);
	assert_ptr_equal(stack_intern_h(f2, 3, 0xabcdef), b);
	assert_ptr_equal(stack_intern_h(f1, 3, 0xabcdef), a);
	assert_int_equal(count_new(NULL), 2);
}

/* Real unwinds: one call site, one id; another site, another id. */
static __attribute__((noinline)) uint32_t site_a(void)
{
	uint32_t id = ma_stack_capture();
	__asm__ volatile("" ::: "memory");
	return id;
}

static __attribute__((noinline)) uint32_t site_b(void)
{
	uint32_t id = ma_stack_capture();
	__asm__ volatile("" ::: "memory");
	return id;
}

static void test_capture(void **s)
{
	(void)s;
	uint32_t a[2], b;
	for (volatile int i = 0; i < 2; i++)     /* one call site, twice */
		a[i] = site_a();
	b = site_b();
	uint32_t a1 = a[0];
	assert_true(a1 != 0 && b != 0);
	assert_int_equal(a[1], a1);
	assert_true(a1 != b);
	struct ma_stack *st = NULL;
	for (struct ma_stack *x = ma_stacks_take_new(); x; x = x->next_new)
		if (x->id == a1)
			st = x;
	assert_non_null(st);
	/* the unwind went through site_a into this test */
	int in_a = 0;
	for (uint32_t i = 0; i < st->n; i++)
		in_a |= st->frames[i] > (uint64_t)(uintptr_t)site_a &&
			st->frames[i] < (uint64_t)(uintptr_t)site_a + 64;
	assert_true(in_a);
}

/* Two threads insert the same stacks, in rounds that start together: in
 * the same order (racing for each slot), last in opposite orders.  Every
 * stack gets one id, both threads see it, each is published once. */
#define RACE_ROUNDS 10
#define RACE_STACKS 4000
#define RACE_BASE 1000000
static uint32_t race_ids[2][RACE_ROUNDS][RACE_STACKS];
static pthread_barrier_t race_start;

static void *racer(void *arg)
{
	int me = (int)(intptr_t)arg;
	for (uint32_t r = 0; r < RACE_ROUNDS; r++) {
		int opposite = me && r == RACE_ROUNDS - 1;
		pthread_barrier_wait(&race_start);
		for (uint32_t i = 0; i < RACE_STACKS; i++) {
			uint32_t k = opposite ? RACE_STACKS - 1 - i : i;
			race_ids[me][r][k] = intern_k(RACE_BASE + r * RACE_STACKS + k);
		}
	}
	return NULL;
}

static void test_two_threads(void **s)
{
	(void)s;
	pthread_t t[2];
	pthread_barrier_init(&race_start, NULL, 2);
	for (intptr_t i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&race_start);
	uint32_t lo = UINT32_MAX, hi = 0, *ids = &race_ids[0][0][0], *ids1 = &race_ids[1][0][0];
	for (uint32_t k = 0; k < RACE_ROUNDS * RACE_STACKS; k++) {
		if (!ids[k] || ids[k] != ids1[k])
			fail_msg("stack %u: ids %u and %u", k, ids[k], ids1[k]);
		lo = ids[k] < lo ? ids[k] : lo;
		hi = ids[k] > hi ? ids[k] : hi;
	}
	/* ids are unique: published stacks have distinct ids, one per stack */
	uint8_t *seen = calloc(hi - lo + 1, 1);
	assert_non_null(seen);
	uint32_t n = 0;
	for (struct ma_stack *x = ma_stacks_take_new(); x; x = x->next_new) {
		assert_true(x->id >= lo && x->id <= hi);
		if (seen[x->id - lo]++)
			fail_msg("stack id %u published twice", x->id);
		n++;
	}
	assert_int_equal(n, RACE_ROUNDS * RACE_STACKS);
	for (uint32_t k = 0; k < RACE_ROUNDS * RACE_STACKS; k++)
		assert_int_equal(seen[ids[k] - lo], 1);
	free(seen);
}

/* Past three quarters of the last segment's slots a new stack is dropped
 * (id 0, counted); known ones are still found, in whatever segment (the
 * race above filled several).  Runs last: it fakes a full table. */
static void test_full(void **s)
{
	(void)s;
	assert_true(atomic_load(&seg_cur) >= 3);
	uint32_t known = intern_k(5);
	uint64_t before = ma_stacks_dropped();
	atomic_store(&seg_cur, SEGS - 1);
	used = (3u << (SEG0_BITS + SEGS - 1)) / 4;
	assert_int_equal(intern_k(RACE_BASE * 2), 0);
	assert_int_equal(ma_stacks_dropped(), before + 1);
	assert_int_equal(intern_k(5), known);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_collision),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_two_threads),
		cmocka_unit_test(test_full),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

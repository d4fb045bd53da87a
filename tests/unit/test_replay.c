/* test_replay.c — events come back in seq order whatever the interleaving
 * of thread batches, every tick sees exactly the events below its
 * watermark, and the delta columns decode exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "record_io.h"
#include "cli/analysis/replay.h"
#include "synth.h"

typedef struct seen {
	ma_event *ev;
	size_t n, cap;
	size_t ticks, bad_ticks;
	uint64_t stacks, threads, symbols, headers, trailers;
} seen;

static void on_event(void *ctx, const ma_event *e)
{
	seen *s = ctx;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
		assert_non_null(s->ev);
	}
	s->ev[s->n++] = *e;
}

static void on_tick(void *ctx, const Memattach__Tick *t)
{
	seen *s = ctx;
	s->ticks++;
	/* Everything below the watermark is out, nothing at or above it. */
	if (s->n && s->ev[s->n - 1].seq >= t->watermark)
		s->bad_ticks++;
}

static void on_stack(void *ctx, const Memattach__Stack *st) { ((seen *)ctx)->stacks++; (void)st; }
static void on_thread(void *ctx, const Memattach__ThreadInfo *t) { ((seen *)ctx)->threads++; (void)t; }
static void on_symbol(void *ctx, const Memattach__Symbol *sy) { ((seen *)ctx)->symbols++; (void)sy; }
static void on_header(void *ctx, const Memattach__Header *h) { ((seen *)ctx)->headers++; (void)h; }
static void on_ct(void *ctx, const Memattach__CaptureTrailer *t) { ((seen *)ctx)->trailers++; (void)t; }

static const ma_replay_ops ops = {
	.header = on_header, .event = on_event, .tick = on_tick, .stack = on_stack,
	.thread = on_thread, .symbol = on_symbol, .capture_trailer = on_ct,
};

static int replay(const char *path, seen *s, ma_replay_result *res, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	return ma_replay_file(path, &ops, s, res, err, errlen);
}

static void assert_ordered(const seen *s)
{
	for (size_t i = 1; i < s->n; i++)
		if (s->ev[i].seq <= s->ev[i - 1].seq)
			fail_msg("event %zu: seq %llu after %llu", i, (unsigned long long)s->ev[i].seq,
				 (unsigned long long)s->ev[i - 1].seq);
}

/* Explicit batches: two threads, out-of-order batches, gaps, ticks. */
static void test_two_threads_interleaved(void **state)
{
	(void)state;
	char *p = synth_tmpname("rp2");
	synth *s = synth_open(p);
	synth_header(s, 100);
	synth_thread(s, 1, "main");
	uint64_t st[8] = { 0 };
	uint32_t k[8], sk[8] = { 0 };
	for (int i = 0; i < 8; i++)
		k[i] = MEMATTACH__EVENT_KIND__MALLOC;
	/* thread 2 has 101,104,105; thread 1 has 100,102,103; 106 is a gap
	 * (failed realloc); thread 2's batch arrives first. */
	uint64_t s2[] = { 101, 104, 105 }, s1[] = { 100, 102, 103 };
	uint64_t t2[] = { 10, 40, 50 }, t1[] = { 0, 20, 30 };
	uint64_t a2[] = { 0x7fff00001000ull, 0x1000, UINT64_MAX - 15 }, a1[] = { 0x5000, 0x4000, 0x3000 };
	uint64_t z[] = { 1, 2, 3 };
	synth_batch(s, 2, 3, s2, t2, a2, z, k, sk);
	synth_batch(s, 1, 3, s1, t1, a1, z, k, sk);
	Memattach__Tick tk = MEMATTACH__TICK__INIT;
	tk.watermark = 107;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_TICK;
	r.tick = &tk;
	synth_record(s, &r);
	uint64_t s3[] = { 108, 109 }, s4[] = { 107 };
	uint64_t t3[] = { 80, 90 }, t4[] = { 70 };
	synth_batch(s, 1, 2, s3, t3, a1, z, k, sk);
	synth_batch(s, 2, 1, s4, t4, a2, z, k, sk);
	synth_stack(s, 9, 1, st);
	synth_finish(s, 1);
	synth_close(s);

	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), 0);
	assert_int_equal(v.n, 9);
	assert_ordered(&v);
	const uint64_t want[] = { 100, 101, 102, 103, 104, 105, 107, 108, 109 };
	const uint32_t tid[] = { 1, 2, 1, 1, 2, 2, 2, 1, 1 };
	const uint64_t tm[] = { 0, 10, 20, 30, 40, 50, 70, 80, 90 };
	for (int i = 0; i < 9; i++) {
		assert_int_equal(v.ev[i].seq, want[i]);
		assert_int_equal(v.ev[i].tid, tid[i]);
		assert_int_equal(v.ev[i].time_ns, tm[i]);
	}
	/* addresses decode through signed deltas, wrapping included */
	assert_true(v.ev[1].addr == 0x7fff00001000ull);
	assert_true(v.ev[4].addr == 0x1000);
	assert_true(v.ev[5].addr == UINT64_MAX - 15);
	assert_true(v.ev[0].addr == 0x5000 && v.ev[2].addr == 0x4000);
	assert_int_equal(v.ticks, 1);
	assert_int_equal(v.bad_ticks, 0);
	assert_int_equal(v.stacks, 1);
	assert_int_equal(v.threads, 1);
	assert_int_equal(v.headers, 1);
	assert_int_equal(v.trailers, 1);
	assert_int_equal(res.events, 9);
	assert_int_equal(res.late_events, 0);
	assert_int_equal(res.max_seq, 110);
	assert_false(res.truncated);
	free(v.ev);
	unlink(p);
	free(p);
}

/* Many threads, random flushes, ticks whenever the agent would send them,
 * windows far larger than the initial ring. */
static void test_random_interleaving(void **state)
{
	(void)state;
	char *p = synth_tmpname("rprand");
	synth *s = synth_open(p);
	synth_header(s, 5);
	srand(42);
	size_t n = 0;
	for (int round = 0; round < 40; round++) {
		int per = (round % 7 == 0) ? 100000 : 2000;
		for (int i = 0; i < per; i++) {
			uint32_t tid = 1 + (uint32_t)(rand() % 8);
			if (rand() % 50 == 0)
				synth_skip_seq(s);
			synth_event(s, tid, MEMATTACH__EVENT_KIND__MALLOC, 0x1000 + 16 * (uint64_t)rand(), 8, tid);
			n++;
			if (rand() % 97 == 0)
				synth_flush_thread(s, 1 + (uint32_t)(rand() % 8));
		}
		synth_tick(s, 0);
	}
	for (int i = 0; i < 1000; i++, n++)
		synth_event(s, 1 + (uint32_t)(i % 3), MEMATTACH__EVENT_KIND__FREE, 0x1000, 0, 0);
	synth_finish(s, 1);
	synth_close(s);

	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), 0);
	assert_int_equal(v.n, n);
	assert_ordered(&v);
	assert_int_equal(v.ticks, 40);
	assert_int_equal(v.bad_ticks, 0);
	assert_int_equal(res.late_events, 0);
	assert_int_equal(res.invalid_events, 0);
	free(v.ev);
	unlink(p);
	free(p);
}

/* No ticks at all and no header: everything is sorted at the end. */
static void test_no_watermarks(void **state)
{
	(void)state;
	char *p = synth_tmpname("rpnowm");
	synth *s = synth_open(p);
	for (int i = 0; i < 5000; i++)
		synth_event(s, 1 + (uint32_t)(i % 5), MEMATTACH__EVENT_KIND__MALLOC, 0x1000 + 16 * (uint64_t)i, 8, 0);
	for (uint32_t t = 5; t >= 1; t--)
		synth_flush_thread(s, t);
	synth_close(s);
	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), 0);
	/* thread 5's batch came first: its first seq (4) is the base, seqs
	 * 0..3 of earlier threads are late and delivered as they come */
	assert_int_equal(v.n, 5000);
	assert_int_equal(res.late_events, 4);
	for (size_t i = 4; i + 1 < v.n; i++)
		if (v.ev[i].seq > 4)
			assert_true(v.ev[i + 1].seq > v.ev[i].seq);
	assert_true(res.truncated);     /* no trailer */
	free(v.ev);
	unlink(p);
	free(p);
}

static void test_late_and_invalid(void **state)
{
	(void)state;
	char *p = synth_tmpname("rplate");
	synth *s = synth_open(p);
	synth_header(s, 0);
	uint64_t sq[] = { 0, 1, 2 }, t[] = { 1, 2, 3 }, a[] = { 16, 32, 48 }, z[] = { 1, 1, 1 };
	uint32_t k[] = { 1, 0, 1 }, sk[] = { 0, 0, 0 };
	synth_batch(s, 1, 3, sq, t, a, z, k, sk);      /* seq 1 has kind 0: dropped */
	Memattach__Tick tk = MEMATTACH__TICK__INIT;
	tk.watermark = 10;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_TICK;
	r.tick = &tk;
	synth_record(s, &r);
	uint64_t sq2[] = { 5, 12 };
	uint32_t k2[] = { 1, 1 };
	synth_batch(s, 2, 2, sq2, t, a, z, k2, sk);    /* seq 5 broke the promise */
	synth_batch(s, 3, 1, sq2 + 1, t, a, z, k2, sk); /* seq 12 twice */
	synth_finish(s, 1);
	synth_close(s);
	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), 0);
	assert_int_equal(v.n, 4);
	assert_int_equal(res.late_events, 1);
	assert_int_equal(res.invalid_events, 2);
	free(v.ev);
	unlink(p);
	free(p);
}

static void test_bad_columns(void **state)
{
	(void)state;
	char *p = synth_tmpname("rpcol");
	synth *s = synth_open(p);
	synth_header(s, 0);
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	uint64_t sd[] = { 0, 1 }, sz[] = { 1 };
	int64_t ad[] = { 16, 16 };
	uint32_t kd[] = { 1, 1 };
	b.tid = 3;
	b.n_seq_delta = 2;
	b.seq_delta = sd;
	b.n_addr_delta = 2;
	b.addr_delta = ad;
	b.n_size = 1;
	b.size = sz;
	b.n_kind = 2;
	b.kind = kd;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	synth_record(s, &r);
	synth_finish(s, 1);
	synth_close(s);
	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), -1);
	assert_non_null(strstr(err, "columns of different lengths"));
	assert_non_null(strstr(err, "compressed byte"));
	free(v.ev);
	unlink(p);
	free(p);
}

/* The window packs kind and size into one word; sizes of 2^48 and more
 * and kinds past 0xfffe (wild or newer captures) go aside and must come
 * back exact, also across a growth of the ring while they are pending. */
#define WIDE_N 70000

static uint64_t wide_size(uint64_t i)
{
	switch (i % 1000) {
	case 7: return UINT64_MAX - i;
	case 13: return 1ull << 48;
	case 15: return (1ull << 48) - 1;
	default: return i;
	}
}

static uint32_t wide_kind(uint64_t i)
{
	switch (i % 1000) {
	case 9: return 0x10000 + (uint32_t)i;
	case 11: return 0xffff;
	case 15: return 0xfffe;
	case 17: return UINT32_MAX;
	default: return MEMATTACH__EVENT_KIND__MALLOC;
	}
}

static void test_wide_sizes_and_kinds(void **state)
{
	(void)state;
	char *p = synth_tmpname("rpwide");
	synth *s = synth_open(p);
	synth_header(s, 0);
	size_t half = WIDE_N / 2;
	uint64_t *sq = malloc(half * sizeof *sq), *t = malloc(half * sizeof *t);
	uint64_t *a = malloc(half * sizeof *a), *z = malloc(half * sizeof *z);
	uint32_t *k = malloc(half * sizeof *k), *sk = calloc(half, sizeof *sk);
	assert_true(sq && t && a && z && k && sk);
	/* thread 2's odd seqs first: the ring grows past 64k slots then */
	for (uint32_t tid = 2; tid >= 1; tid--) {
		for (size_t j = 0; j < half; j++) {
			uint64_t i = 2 * j + (tid == 2);
			sq[j] = i, t[j] = i, a[j] = 16 * (i + 1), z[j] = wide_size(i), k[j] = wide_kind(i);
		}
		synth_batch(s, tid, half, sq, t, a, z, k, sk);
	}
	synth_finish(s, 1);
	synth_close(s);
	seen v;
	ma_replay_result res;
	char err[512];
	assert_int_equal(replay(p, &v, &res, err, sizeof err), 0);
	assert_int_equal(v.n, WIDE_N);
	for (uint64_t i = 0; i < WIDE_N; i++) {
		if (v.ev[i].seq != i || v.ev[i].size != wide_size(i) || v.ev[i].kind != wide_kind(i) ||
		    v.ev[i].tid != 1 + (i & 1) || v.ev[i].addr != 16 * (i + 1) || v.ev[i].time_ns != i)
			fail_msg("event %llu: seq %llu size %llu kind %u", (unsigned long long)i,
				 (unsigned long long)v.ev[i].seq, (unsigned long long)v.ev[i].size,
				 v.ev[i].kind);
	}
	assert_int_equal(res.invalid_events, 0);
	free(sq), free(t), free(a), free(z), free(k), free(sk);
	free(v.ev);
	unlink(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_threads_interleaved),
		cmocka_unit_test(test_random_interleaving),
		cmocka_unit_test(test_no_watermarks),
		cmocka_unit_test(test_late_and_invalid),
		cmocka_unit_test(test_bad_columns),
		cmocka_unit_test(test_wide_sizes_and_kinds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

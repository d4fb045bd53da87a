/* test_replay_pipe.c — the replay on two threads hands the callbacks
 * exactly what the one-thread replay hands them, in the same order: every
 * event with its fields, and each other record between the same events
 * (a Tick after the events below its watermark and before the others),
 * across chunk boundaries (runs of more events than a chunk holds, more
 * records in a row than a chunk keeps). */
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

/* The callbacks as one log of words: a tag, then the values. */
typedef struct trace {
	uint64_t *w;
	size_t n, cap;
} trace;

static void put(trace *t, uint64_t v)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 4096;
		t->w = realloc(t->w, t->cap * sizeof *t->w);
		assert_non_null(t->w);
	}
	t->w[t->n++] = v;
}

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		put(ctx, 'E');
		put(ctx, e[i].seq), put(ctx, e[i].time_ns), put(ctx, e[i].addr);
		put(ctx, e[i].size), put(ctx, e[i].tid), put(ctx, e[i].kind), put(ctx, e[i].stack);
	}
}

static void on_tick(void *ctx, const Memattach__Tick *t) { put(ctx, 'T'), put(ctx, t->watermark); }
static void on_stack(void *ctx, const Memattach__Stack *s) { put(ctx, 'S'), put(ctx, s->id); }
static void on_thread(void *ctx, const Memattach__ThreadInfo *t) { put(ctx, 'N'), put(ctx, t->tid); }
static void on_symbol(void *ctx, const Memattach__Symbol *s) { put(ctx, 'Y'), put(ctx, s->address); }
static void on_header(void *ctx, const Memattach__Header *h) { put(ctx, 'H'), put(ctx, h->first_seq); }
static void on_ct(void *ctx, const Memattach__CaptureTrailer *t) { put(ctx, 'C'), put(ctx, t->complete); }

static const ma_replay_ops ops = {
	.header = on_header, .events = on_events, .tick = on_tick, .stack = on_stack,
	.thread = on_thread, .symbol = on_symbol, .capture_trailer = on_ct,
};

/* Three threads whose batches interleave, ticks now and then, stacks and
 * symbols between them, and a burst of 3000 stacks in a row. */
static void make_capture(const char *path)
{
	synth *s = synth_open(path);
	synth_header(s, 1);
	uint64_t frame = 0x401000;
	uint64_t x = 12345;
	for (uint32_t id = 1; id <= 3000; id++)
		synth_stack(s, id, 1, &frame);
	for (int round = 0; round < 40; round++) {
		synth_thread(s, 100 + (uint32_t)round % 3, "worker");
		for (int i = 0; i < 1500; i++) {
			x = x * 6364136223846793005ull + 1442695040888963407ull;
			uint32_t tid = 100 + (uint32_t)(x >> 60) % 3;
			uint64_t addr = 0x10000 + ((x >> 20) % 4096) * 16;
			synth_event(s, tid, MEMATTACH__EVENT_KIND__MALLOC, addr, 16 + (x >> 50) % 64,
				    1 + (uint32_t)(x >> 40) % 3000);
			synth_event(s, tid, MEMATTACH__EVENT_KIND__FREE, addr, 0, 0);
			if (i % 700 == 0)
				synth_flush_thread(s, tid);
		}
		synth_symbol(s, frame + (uint64_t)round, "f");
		if (round % 4 == 3)
			synth_tick(s, 0);
	}
	synth_finish(s, 1);
	synth_close(s);
}

static void replay(const char *path, const char *threads, trace *t, ma_replay_result *res)
{
	if (threads)
		setenv("MEMATTACH_REPLAY_THREADS", threads, 1);
	else
		unsetenv("MEMATTACH_REPLAY_THREADS");
	char err[512];
	memset(t, 0, sizeof *t);
	int rc = ma_replay_file(path, &ops, t, res, err, sizeof err);
	if (rc)
		fail_msg("replay: %s", err);
	unsetenv("MEMATTACH_REPLAY_THREADS");
}

static void test_piped_replay_is_the_serial_one(void **state)
{
	(void)state;
	char *p = synth_tmpname("pipe");
	make_capture(p);
	trace one, two;
	ma_replay_result r1, r2;
	replay(p, "1", &one, &r1);
	replay(p, NULL, &two, &r2);
	assert_true(one.n > 40 * 1500 * 2 * 8);
	assert_int_equal(one.n, two.n);
	for (size_t i = 0; i < one.n; i++)
		if (one.w[i] != two.w[i])
			fail_msg("callback log differs at word %zu of %zu", i, one.n);
	assert_memory_equal(&r1, &r2, sizeof r1);
	free(one.w);
	free(two.w);
	unlink(p);
	free(p);
}

/* A capture cut in the middle: both replays stop at the same record and
 * say so the same way. */
static void test_piped_replay_of_a_cut_capture(void **state)
{
	(void)state;
	char *p = synth_tmpname("pipecut");
	make_capture(p);
	size_t len;
	uint8_t *b = synth_slurp(p, &len);
	synth_spit(p, b, len / 2);
	free(b);
	trace one, two;
	ma_replay_result r1, r2;
	replay(p, "1", &one, &r1);
	replay(p, NULL, &two, &r2);
	assert_true(r1.truncated);
	assert_int_equal(one.n, two.n);
	assert_memory_equal(one.w, two.w, one.n * sizeof *one.w);
	assert_memory_equal(&r1, &r2, sizeof r1);
	free(one.w);
	free(two.w);
	unlink(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_piped_replay_is_the_serial_one),
		cmocka_unit_test(test_piped_replay_of_a_cut_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_live_model.c — memattach live's model, refreshed from the stacks
 * that changed only, against a naive recount of every stack after each
 * refresh: own, total (a function twice on one path counts once), blocks,
 * growth since the previous and the first refresh, the order of the rows,
 * the thread filter, and a stack whose frames arrive after its events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli/analysis/analysis.h"
#include "cli/live/live_model.h"
#include "record_io.h"

#define NFUNCS 6
#define NSTACKS 40
#define DEPTH 5
#define NBLOCKS 3000

static const char *const names[NFUNCS] = { "f0", "f1", "f2", "f3", "f4", "f5" };
static uint64_t frames[NSTACKS][DEPTH];
static size_t nframes[NSTACKS];
static uint32_t stack_tid[NSTACKS];
static struct { uint64_t addr, size; int stack; } blocks[NBLOCKS];
static uint64_t seq = 1, rng = 12345;

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

/* Frame address of function f at call site k (a symbol each). */
static uint64_t frame_of(int f, int k) { return 0x400000 + (uint64_t)f * 0x1000 + (uint64_t)k * 16 + 1; }

static void feed_stack(ma_analysis *a, int s)
{
	Memattach__Stack st = MEMATTACH__STACK__INIT;
	st.id = (uint32_t)s + 1;
	st.n_frames = nframes[s];
	st.frames = frames[s];
	ma_analysis_ops.stack(a, &st);
}

static void setup_stacks(ma_analysis *a)
{
	for (int f = 0; f < NFUNCS; f++)
		for (int k = 0; k < DEPTH; k++) {
			Memattach__Symbol sym = MEMATTACH__SYMBOL__INIT;
			sym.address = frame_of(f, k);
			sym.function = (char *)names[f];
			sym.file = "t.c";
			sym.line = 10 + (uint32_t)f;   /* one line per function: one location */
			sym.module = "t";
			ma_analysis_ops.symbol(a, &sym);
		}
	for (int s = 0; s < NSTACKS; s++) {
		nframes[s] = 1 + rnd() % DEPTH;
		for (size_t k = 0; k < nframes[s]; k++)   /* repeats: recursion */
			frames[s][k] = frame_of((int)(rnd() % NFUNCS), (int)k);
		stack_tid[s] = 100 + (uint32_t)(rnd() % 3);
		if (s != NSTACKS - 1)   /* the last one's frames come late */
			feed_stack(a, s);
	}
}

static int func_of(uint64_t frame) { return (int)((frame - 0x400000) / 0x1000); }

/* One random allocation or free, as the agent would send it. */
static void step(ma_analysis *a)
{
	int i = (int)(rnd() % NBLOCKS);
	ma_event e = { .seq = seq++, .time_ns = seq * 1000 };
	if (blocks[i].addr) {
		e.kind = MEMATTACH__EVENT_KIND__FREE;
		e.addr = blocks[i].addr;
		e.tid = stack_tid[blocks[i].stack];
		blocks[i].addr = 0;
	} else {
		int s = (int)(rnd() % NSTACKS);
		blocks[i] = (typeof(blocks[i])){ 0x10000000 + (uint64_t)i * 4096, 1 + rnd() % 1000, s };
		e.kind = MEMATTACH__EVENT_KIND__MALLOC;
		e.addr = blocks[i].addr;
		e.size = blocks[i].size;
		e.tid = stack_tid[s];
		e.stack = (uint32_t)s + 1;
	}
	ma_analysis_event(a, &e);
}

struct naive { uint64_t own, total, count; };

/* Every location's values from every live block (tid 0: all threads). */
static void recount(struct naive *n, uint32_t tid, int last_known)
{
	memset(n, 0, sizeof(*n) * (NFUNCS + 1));
	for (int i = 0; i < NBLOCKS; i++) {
		if (!blocks[i].addr)
			continue;
		int s = blocks[i].stack;
		if (tid && stack_tid[s] != tid)
			continue;
		if (s == NSTACKS - 1 && !last_known) {   /* "(stack not known yet)" */
			n[NFUNCS].own += blocks[i].size;
			n[NFUNCS].total += blocks[i].size;
			n[NFUNCS].count++;
			continue;
		}
		int seen[NFUNCS] = { 0 };
		n[func_of(frames[s][0])].own += blocks[i].size;
		n[func_of(frames[s][0])].count++;
		for (size_t k = 0; k < nframes[s]; k++) {
			int f = func_of(frames[s][k]);
			if (!seen[f]++)
				n[f].total += blocks[i].size;
		}
	}
}

static int loc_func(const ma_lv *v, uint32_t loc)
{
	const ma_loc *l = ma_lv_loc(v, loc);
	for (int f = 0; f < NFUNCS; f++)
		if (l->function && !strcmp(l->function, names[f]))
			return f;
	return NFUNCS;
}

static void check_rows(ma_lv *v, const struct naive *n, const uint64_t *prev, const uint64_t *start,
		       enum ma_lv_sort sort)
{
	ma_lv_row rows[NFUNCS + 2];
	size_t got = ma_lv_top(v, rows, NFUNCS + 2), want = 0;
	for (int f = 0; f <= NFUNCS; f++) {
		uint64_t k = sort == MA_LV_TOTAL ? n[f].total : sort == MA_LV_BLOCKS ? n[f].count : n[f].own;
		want += k > 0;
	}
	assert_int_equal(got, want);
	for (size_t r = 0; r < got; r++) {
		int f = loc_func(v, rows[r].loc);
		assert_int_equal(rows[r].own.bytes, n[f].own);
		assert_int_equal(rows[r].own.count, n[f].count);
		assert_int_equal(rows[r].total.bytes, n[f].total);
		if (prev)
			assert_int_equal(rows[r].since_prev, (int64_t)(n[f].own - prev[f]));
		if (start)
			assert_int_equal(rows[r].since_start, (int64_t)(n[f].own - start[f]));
		if (r > 0 && sort == MA_LV_OWN)
			assert_true(rows[r - 1].own.bytes >= rows[r].own.bytes);
		if (r > 0 && sort == MA_LV_TOTAL)
			assert_true(rows[r - 1].total.bytes >= rows[r].total.bytes);
	}
}

static void test_against_recount(void **state)
{
	(void)state;
	ma_analysis *a = ma_analysis_new();
	assert_non_null(a);
	ma_analysis_split_by_thread(a);
	ma_analysis_track_changes(a);
	setup_stacks(a);
	ma_lv *v = ma_lv_new(a, NULL);
	assert_non_null(v);
	struct naive n[NFUNCS + 1];
	uint64_t prev[NFUNCS + 1] = { 0 }, start[NFUNCS + 1] = { 0 };
	int last_known = 0;
	for (int round = 0; round < 60; round++) {
		int steps = (int)(rnd() % 400);
		for (int k = 0; k < steps; k++)
			step(a);
		if (round == 30) {   /* the late stack's frames: its memory moves */
			feed_stack(a, NSTACKS - 1);
			last_known = 1;
		}
		ma_lv_refresh(v);
		recount(n, 0, last_known);
		if (round == 0)
			for (int f = 0; f <= NFUNCS; f++)
				start[f] = n[f].own;
		/* growth since the previous refresh: known when no stack moved */
		check_rows(v, n, round == 30 ? NULL : prev, round >= 30 ? NULL : start, MA_LV_OWN);
		for (int f = 0; f <= NFUNCS; f++)
			prev[f] = n[f].own;
		ma_lv_set_sort(v, MA_LV_TOTAL);
		check_rows(v, n, NULL, NULL, MA_LV_TOTAL);
		ma_lv_set_sort(v, MA_LV_BLOCKS);
		check_rows(v, n, NULL, NULL, MA_LV_BLOCKS);
		ma_lv_set_sort(v, MA_LV_OWN);
		ma_count live = ma_lv_live(v);
		assert_int_equal(live.bytes, a->live_bytes);
	}
	/* one thread, then all again */
	for (uint32_t tid = 100; tid < 103; tid++) {
		ma_lv_set_thread(v, tid);
		recount(n, tid, 1);
		check_rows(v, n, NULL, NULL, MA_LV_OWN);
		for (int k = 0; k < 200; k++)
			step(a);
		ma_lv_refresh(v);
		recount(n, tid, 1);
		check_rows(v, n, NULL, NULL, MA_LV_OWN);
	}
	ma_lv_set_thread(v, 0);
	recount(n, 0, 1);
	check_rows(v, n, NULL, NULL, MA_LV_OWN);
	ma_lv_free(v);
	ma_analysis_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_recount),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

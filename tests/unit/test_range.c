/* test_range.c — the flame graph's time range the analysis keeps while it
 * replays (ma_analysis_want_range), against a model that knows every
 * block's allocation and frees: random streams of four threads freeing
 * each other's blocks, reallocs, allocations over live addresses (an
 * implicit free), mappings unmapped in two steps (a part, then the rest),
 * ticks enough for the snapshots to be halved several times; with no
 * filter, a thread filter and a size filter.  For every (stack, thread,
 * allocation bucket) the value at every moment must be the model's: the
 * sum over its blocks of what of them was live then. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/analysis/analysis.h"
#include "record_io.h"
#include "synth.h"

enum {
	MALLOC = MEMATTACH__EVENT_KIND__MALLOC,
	REALLOC = MEMATTACH__EVENT_KIND__REALLOC,
	MMAP = MEMATTACH__EVENT_KIND__MMAP,
	FREE = MEMATTACH__EVENT_KIND__FREE,
	REALLOC_FREE = MEMATTACH__EVENT_KIND__REALLOC_FREE,
	MUNMAP = MEMATTACH__EVENT_KIND__MUNMAP,
};

#define NSTACKS 5
#define NTIDS 4
#define NHEAP 400
#define NMAPS 40
#define PAGE 4096u
#define MAXM 15                 /* snapshots kept: halved many times (odd: the open bucket) */
#define NEVENTS 30000
#define MAXBLOCKS (NEVENTS + 1)

/* A block of the model: what of it is live after seq s is (1, size)
 * from its allocation on, less its frees (two at most) up to s. */
typedef struct mblock {
	uint32_t stack, tid;
	uint64_t alloc_seq, size;
	int nfree;
	uint64_t free_seq[2];
	ma_count freed[2];
} mblock;

static mblock *blocks;
static size_t nblocks;

static uint32_t new_block(uint32_t stack, uint32_t tid, uint64_t seq, uint64_t size)
{
	blocks[nblocks] = (mblock){ stack, tid, seq, size, 0, { 0, 0 }, { { 0, 0 }, { 0, 0 } } };
	return (uint32_t)nblocks++;
}

static void free_part(uint32_t b, uint64_t seq, uint64_t count, uint64_t bytes)
{
	mblock *m = &blocks[b];
	m->free_seq[m->nfree] = seq;
	m->freed[m->nfree++] = (ma_count){ count, bytes };
}

/* A random stream into path, its blocks in blocks[]. */
static void make_stream(const char *path, unsigned seed)
{
	srand(seed);
	nblocks = 0;
	synth *s = synth_open(path);
	synth_header(s, 1000);
	int64_t heap[NHEAP], maps[NMAPS];
	int map_pages[NMAPS];
	for (int i = 0; i < NHEAP; i++)
		heap[i] = -1;
	for (int i = 0; i < NMAPS; i++)
		maps[i] = -1;
	for (int i = 0; i < NEVENTS; i++) {
		uint32_t tid = 1 + (uint32_t)(rand() % NTIDS);
		uint32_t st = 1 + (uint32_t)(rand() % NSTACKS);
		int r = rand() % 10;
		if (rand() % 8 == 0) {     /* a mapping */
			int k = rand() % NMAPS;
			uint64_t addr = 0x7f0000000000ull + (uint64_t)k * 16 * PAGE;
			if (maps[k] < 0) {
				uint64_t seq = synth_event(s, tid, MMAP, addr, 4 * PAGE, st);
				maps[k] = new_block(st, tid, seq, 4 * PAGE);
				map_pages[k] = 4;
			} else if (map_pages[k] == 4) {
				uint64_t seq = synth_event(s, tid, MUNMAP, addr, PAGE, 0);
				free_part((uint32_t)maps[k], seq, 0, PAGE);
				map_pages[k] = 3;
			} else {
				uint64_t seq = synth_event(s, tid, MUNMAP, addr, 4 * PAGE, 0);
				free_part((uint32_t)maps[k], seq, 1, 3 * PAGE);
				maps[k] = -1;
			}
		} else {
			int k = rand() % NHEAP;
			uint64_t addr = 0x100000 + 0x40 * (uint64_t)k;
			uint64_t size = 1 + (uint64_t)(rand() % 4000);
			if (heap[k] >= 0 && r < 6) {
				uint64_t seq = synth_event(s, tid, FREE, addr, 0, 0);
				free_part((uint32_t)heap[k], seq, 1, blocks[heap[k]].size);
				heap[k] = -1;
			} else if (heap[k] >= 0 && r < 8) {
				uint64_t seq = synth_event(s, tid, REALLOC_FREE, addr, 0, st);
				free_part((uint32_t)heap[k], seq, 1, blocks[heap[k]].size);
				seq = synth_event(s, tid, REALLOC, addr, size, st);
				heap[k] = new_block(st, tid, seq, size);
			} else {
				/* over a live block: its free was missed (implicit) */
				uint64_t seq = synth_event(s, tid, MALLOC, addr, size, st);
				if (heap[k] >= 0)
					free_part((uint32_t)heap[k], seq, 1, blocks[heap[k]].size);
				heap[k] = new_block(st, tid, seq, size);
			}
		}
		if (rand() % 13 == 0)
			synth_flush_thread(s, 1 + (uint32_t)(rand() % NTIDS));
		if (rand() % 150 == 0)
			synth_tick(s, 0);
	}
	synth_finish(s, 1);
	synth_close(s);
}

/* values[stack][tid][bucket][moment] */
typedef ma_count grid[NSTACKS + 1][NTIDS + 1][MAXM + 1][MAXM + 1];

static int selected(const mblock *m, const ma_filter *f)
{
	return (!f->tid || m->tid == f->tid) && m->size >= f->min_size;
}

/* The model's values at the analysis' moments. */
static void model_values(const ma_analysis *a, const ma_filter *f, grid *want)
{
	size_t nm = a->nsnapshots;
	for (size_t i = 0; i < nblocks; i++) {
		const mblock *m = &blocks[i];
		if (!selected(m, f))
			continue;
		size_t k = 0;
		while (k < nm && a->snapshots[k].seq < m->alloc_seq)
			k++;
		assert_true(k < nm);
		for (size_t j = k; j < nm; j++) {
			ma_count v = { 1, m->size };
			for (int x = 0; x < m->nfree; x++)
				if (m->free_seq[x] <= a->snapshots[j].seq) {
					v.count -= m->freed[x].count;
					v.bytes -= m->freed[x].bytes;
				}
			(*want)[m->stack][m->tid][k][j].count += v.count;
			(*want)[m->stack][m->tid][k][j].bytes += v.bytes;
		}
	}
}

/* The analysis' range as the same grid: each entry's changes carried
 * forward from moment to moment. */
static void range_values(const ma_analysis *a, const ma_range *r, grid *got)
{
	static uint8_t seen[NSTACKS + 1][NTIDS + 1][MAXM + 1];
	memset(seen, 0, sizeof seen);
	assert_int_equal(r->nmoments, a->nsnapshots);
	for (size_t e = 0; e < r->nentries; e++) {
		const ma_stack_stats *s = &a->stacks[r->leaf[e]];
		assert_true(s->id >= 1 && s->id <= NSTACKS && s->tid >= 1 && s->tid <= NTIDS);
		assert_true(r->bucket[e] < r->nmoments);
		assert_false(seen[s->id][s->tid][r->bucket[e]]);   /* one entry per cell */
		seen[s->id][s->tid][r->bucket[e]] = 1;
	}
	ma_count *now = calloc(r->nentries + 1, sizeof *now);
	assert_non_null(now);
	for (size_t j = 0; j < r->nmoments; j++) {
		for (size_t c = r->off[j]; c < r->off[j + 1]; c++) {
			assert_true(r->entry[c] < r->nentries);
			assert_true(c == r->off[j] || r->entry[c] > r->entry[c - 1]);   /* ascending */
			now[r->entry[c]] = r->live[c];
		}
		for (size_t e = 0; e < r->nentries; e++) {
			const ma_stack_stats *s = &a->stacks[r->leaf[e]];
			(*got)[s->id][s->tid][r->bucket[e]][j] = now[e];
		}
	}
	free(now);
}

static void check_seed(unsigned seed, const ma_filter *f)
{
	char *p = synth_tmpname("rng");
	make_stream(p, seed);
	ma_analysis *a = ma_analysis_new();
	assert_non_null(a);
	ma_analysis_set_filter(a, f);
	ma_analysis_want_snapshots(a, MAXM);
	ma_analysis_split_by_thread(a);
	ma_analysis_want_range(a);
	char err[512];
	if (ma_analysis_run(a, p, err, sizeof err) < 0)
		fail_msg("analysis failed: %s", err);
	assert_true(a->nsnapshots >= MAXM / 2 && a->nsnapshots <= MAXM);
	ma_range r;
	assert_int_equal(ma_analysis_range(a, &r), 0);
	static grid want, got;
	memset(want, 0, sizeof want);
	memset(got, 0, sizeof got);
	model_values(a, f, &want);
	range_values(a, &r, &got);
	for (int st = 1; st <= NSTACKS; st++)
		for (int t = 1; t <= NTIDS; t++)
			for (int k = 0; k < MAXM; k++)
				for (int j = 0; j < MAXM; j++)
					if (got[st][t][k][j].bytes != want[st][t][k][j].bytes ||
					    got[st][t][k][j].count != want[st][t][k][j].count)
						fail_msg("seed %u: stack %d thread %d bucket %d moment %d: %llu B in %llu, want %llu B in %llu",
							 seed, st, t, k, j, (unsigned long long)got[st][t][k][j].bytes,
							 (unsigned long long)got[st][t][k][j].count,
							 (unsigned long long)want[st][t][k][j].bytes,
							 (unsigned long long)want[st][t][k][j].count);
	ma_range_free(&r);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

static void test_range_vs_model(void **state)
{
	(void)state;
	ma_filter none = { 0 };
	for (unsigned seed = 1; seed <= 3; seed++)
		check_seed(seed, &none);
}

static void test_range_filtered(void **state)
{
	(void)state;
	ma_filter by_thread = { .tid = 2 }, by_size = { .min_size = 1500 };
	check_seed(7, &by_thread);
	check_seed(8, &by_size);
}

/* Without ma_analysis_want_range there is none. */
static void test_range_not_asked(void **state)
{
	(void)state;
	char *p = synth_tmpname("rng");
	make_stream(p, 1);
	ma_analysis *a = ma_analysis_new();
	assert_non_null(a);
	ma_analysis_want_snapshots(a, MAXM);
	ma_analysis_split_by_thread(a);
	char err[512];
	assert_int_equal(ma_analysis_run(a, p, err, sizeof err), 0);
	ma_range r;
	assert_int_equal(ma_analysis_range(a, &r), 1);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

int main(void)
{
	blocks = calloc(MAXBLOCKS, sizeof *blocks);
	if (!blocks)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_vs_model),
		cmocka_unit_test(test_range_filtered),
		cmocka_unit_test(test_range_not_asked),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(blocks);
	return rc;
}

/* test_analysis.c — the analysis engine on synthetic captures whose totals,
 * peak, live set at the peak and leaks are known exactly, and on random
 * streams checked against a naive model. */
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
#include "record_limits.h"
#include "record_io.h"
#include "synth.h"

enum {
	MALLOC = MEMATTACH__EVENT_KIND__MALLOC,
	CALLOC = MEMATTACH__EVENT_KIND__CALLOC,
	REALLOC = MEMATTACH__EVENT_KIND__REALLOC,
	MMAP = MEMATTACH__EVENT_KIND__MMAP,
	MREMAP = MEMATTACH__EVENT_KIND__MREMAP,
	NEW = MEMATTACH__EVENT_KIND__OPERATOR_NEW,
	FREE = MEMATTACH__EVENT_KIND__FREE,
	REALLOC_FREE = MEMATTACH__EVENT_KIND__REALLOC_FREE,
	DELETE = MEMATTACH__EVENT_KIND__OPERATOR_DELETE,
	MUNMAP = MEMATTACH__EVENT_KIND__MUNMAP,
	MREMAP_FREE = MEMATTACH__EVENT_KIND__MREMAP_FREE,
};

static ma_analysis *analyse(const char *path)
{
	ma_analysis *a = ma_analysis_new();
	assert_non_null(a);
	char err[512];
	if (ma_analysis_run(a, path, err, sizeof err) < 0)
		fail_msg("analysis failed: %s", err);
	return a;
}

static const ma_stack_stats *stk(const ma_analysis *a, uint32_t id)
{
	const ma_stack_stats *s = ma_analysis_stack(a, id);
	if (!s)
		fail_msg("stack %u missing", id);
	return s;
}

/* Temporary: freed by its own thread before that thread's next allocation
 * (another thread's allocations in between do not matter). */
static void test_temporary(void **state)
{
	(void)state;
	char *p = synth_tmpname("antemp");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t f1[] = { 0x401000 }, f2[] = { 0x402000 };
	synth_stack(s, 1, 1, f1);
	synth_stack(s, 2, 1, f2);
	synth_event(s, 10, MALLOC, 0x1000, 100, 1);
	synth_event(s, 11, MALLOC, 0x2000, 7, 2);     /* another thread: no effect */
	synth_event(s, 10, FREE, 0x1000, 0, 0);       /* temporary (100) */
	synth_event(s, 10, MALLOC, 0x3000, 30, 1);
	synth_event(s, 11, FREE, 0x3000, 0, 0);       /* freed by another thread: no */
	synth_event(s, 10, MALLOC, 0x4000, 40, 1);
	synth_event(s, 10, MALLOC, 0x5000, 50, 2);
	synth_event(s, 10, FREE, 0x4000, 0, 0);       /* not its thread's last: no */
	synth_event(s, 10, FREE, 0x5000, 0, 0);       /* temporary (50) */
	synth_event(s, 10, FREE, 0x5000, 0, 0);       /* untracked: no */
	synth_event(s, 11, REALLOC_FREE, 0x2000, 0, 2);   /* its last allocation: yes (7) */
	synth_event(s, 11, REALLOC, 0x6000, 9, 2);
	synth_tick(s, 1 << 20);
	synth_finish(s, 1);
	synth_close(s);

	ma_analysis *a = analyse(p);
	assert_int_equal(a->temporary_allocations, 3);
	assert_int_equal(a->temporary_bytes, 157);
	assert_int_equal(stk(a, 1)->temporary.count, 1);
	assert_int_equal(stk(a, 1)->temporary.bytes, 100);
	assert_int_equal(stk(a, 2)->temporary.count, 2);
	assert_int_equal(stk(a, 2)->temporary.bytes, 57);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

/* Events the agent dropped (EventsLost): summed, per thread, within a
 * thread filter; a lost free leaves its block live until the address comes
 * back (implicit free); a free of a lost allocation is untracked. */
static void lost_record(synth *s, uint32_t tid, uint64_t allocs, uint64_t bytes, uint64_t frees,
			uint64_t t1, uint64_t t2)
{
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	Memattach__EventsLost l = MEMATTACH__EVENTS_LOST__INIT;
	l.tid = tid;
	l.allocations = allocs;
	l.allocation_bytes = bytes;
	l.frees = frees;
	l.first_time_ns = t1;
	l.last_time_ns = t2;
	r.r_case = MEMATTACH__RECORD__R_EVENTS_LOST;
	r.events_lost = &l;
	synth_record(s, &r);
}

static void test_events_lost(void **state)
{
	(void)state;
	char *p = synth_tmpname("anlost");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t f1[] = { 0x401000 };
	synth_stack(s, 1, 1, f1);
	synth_event(s, 10, MALLOC, 0x1000, 100, 1);
	synth_skip_seq(s);                              /* 10: free(0x1000) lost */
	synth_skip_seq(s);                              /* 11: malloc(64) = 0x2000 lost */
	synth_event(s, 10, MALLOC, 0x1000, 30, 1);      /* implicit free of the 100 */
	synth_event(s, 11, FREE, 0x2000, 0, 0);         /* untracked */
	synth_tick(s, 1 << 20);
	lost_record(s, 10, 0, 0, 1, 5000, 7000);
	lost_record(s, 11, 1, 64, 0, 4000, 6000);
	synth_finish(s, 1);
	synth_close(s);

	ma_analysis *a = analyse(p);
	assert_int_equal(ma_analysis_lost(a), 2);
	assert_int_equal(a->lost_alloc.count, 1);
	assert_int_equal(a->lost_alloc.bytes, 64);
	assert_int_equal(a->lost_free.count, 1);
	assert_int_equal(a->lost_first_ns, 4000);
	assert_int_equal(a->lost_last_ns, 7000);
	assert_int_equal(a->lost_windows, 2);
	assert_int_equal(a->total_allocations, 2);
	assert_int_equal(a->implicit_frees, 1);
	assert_int_equal(a->untracked_frees, 1);
	assert_int_equal(a->live_bytes, 30);
	for (size_t i = 0; i < a->nthreads; i++) {
		const ma_thread_stats *t = &a->threads[i];
		assert_int_equal(t->lost_alloc.count, t->tid == 11 ? 1 : 0);
		assert_int_equal(t->lost_frees, t->tid == 10 ? 1 : 0);
	}
	ma_analysis_free(a);

	a = ma_analysis_new();
	ma_filter f = { .tid = 11 };
	ma_analysis_set_filter(a, &f);
	char err[512];
	assert_int_equal(ma_analysis_run(a, p, err, sizeof err), 0);
	assert_int_equal(a->lost_alloc.count, 1);
	assert_int_equal(a->lost_free.count, 0);
	assert_int_equal(a->lost_windows, 1);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

/* malloc, calloc, realloc chain, operator new/delete, untracked free,
 * peak in the middle; two threads. */
static void test_basic_totals(void **state)
{
	(void)state;
	char *p = synth_tmpname("an1");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t f1[] = { 0x401000, 0x402000 }, f2[] = { 0x403000 };
	synth_stack(s, 1, 2, f1);
	synth_stack(s, 2, 1, f2);
	synth_symbol(s, 0x401000, "make_thing");
	synth_event(s, 10, MALLOC, 0x1000, 100, 1);                  /* live 100 */
	synth_event(s, 10, CALLOC, 0x2000, 10 * 30, 2);              /* 400 */
	synth_event(s, 11, REALLOC_FREE, 0x1000, 0, 1);              /* 300 */
	synth_event(s, 11, REALLOC, 0x3000, 500, 1);                 /* 800 */
	synth_tick(s, 1 << 20);
	synth_event(s, 11, REALLOC_FREE, 0x3000, 0, 1);              /* 300 */
	synth_event(s, 11, REALLOC, 0x3000, 700, 1);                 /* 1000 (in place) */
	uint64_t peak_seq = synth_event(s, 10, NEW, 0x4000, 24, 2);  /* 1024: peak */
	synth_event(s, 10, FREE, 0xdead0, 0, 0);                     /* untracked */
	synth_event(s, 10, DELETE, 0x4000, 0, 2);                    /* 1000 */
	synth_event(s, 11, FREE, 0x3000, 0, 1);                      /* 300 */
	synth_event(s, 11, MALLOC, 0x5000, 8, 1);                    /* 308 */
	synth_tick(s, 2 << 20);
	synth_finish(s, 1);
	synth_close(s);

	ma_analysis *a = analyse(p);
	assert_int_equal(a->total_allocations, 6);
	assert_int_equal(a->total_bytes_allocated, 100 + 300 + 500 + 700 + 24 + 8);
	assert_int_equal(a->total_frees, 4);
	assert_int_equal(a->untracked_frees, 1);
	assert_int_equal(a->implicit_frees, 0);
	assert_int_equal(a->peak_bytes, 1024);
	assert_int_equal(a->peak_blocks, 3);
	assert_int_equal(a->peak_seq, peak_seq);
	assert_int_equal(a->live_bytes, 308);
	assert_int_equal(a->live_blocks, 2);
	assert_int_equal(a->kinds[MALLOC].count, 2);
	assert_int_equal(a->kinds[MALLOC].bytes, 108);
	assert_int_equal(a->kinds[CALLOC].bytes, 300);
	assert_int_equal(a->kinds[REALLOC].count, 2);
	assert_int_equal(a->kinds[REALLOC].bytes, 1200);
	assert_int_equal(a->kinds[FREE].count, 2);
	assert_int_equal(a->kinds[REALLOC_FREE].count, 2);
	/* per stack: allocated, at peak, at end */
	const ma_stack_stats *s1 = stk(a, 1), *s2 = stk(a, 2);
	assert_int_equal(s1->alloc.count, 4);
	assert_int_equal(s1->alloc.bytes, 1308);
	assert_int_equal(s1->at_peak.bytes, 700);
	assert_int_equal(s1->at_peak.count, 1);
	assert_int_equal(s1->live.bytes, 8);
	assert_int_equal(s1->live.count, 1);
	assert_int_equal(s1->max_live_bytes, 700);
	assert_int_equal(s2->at_peak.bytes, 324);
	assert_int_equal(s2->at_peak.count, 2);
	assert_int_equal(s2->live.bytes, 300);
	assert_int_equal(s1->nframes, 2);
	assert_true(s1->frames[0] == 0x401000 && s1->frames[1] == 0x402000);
	char name[128];
	assert_string_equal(ma_analysis_frame_name(a, 0x401000, name, sizeof name), "make_thing (/usr/bin/synth)");
	assert_string_equal(ma_analysis_frame_name(a, 0x402000, name, sizeof name), "0x402000");
	/* time series: heap at each watermark */
	assert_int_equal(a->nsamples, 2);
	assert_int_equal(a->samples[0].heap_bytes, 800);
	assert_int_equal(a->samples[0].rss_bytes, 1 << 20);
	assert_int_equal(a->samples[1].heap_bytes, 308);
	/* threads */
	assert_int_equal(a->nthreads, 2);
	uint64_t t10 = 0, t11 = 0;
	for (size_t i = 0; i < a->nthreads; i++) {
		if (a->threads[i].tid == 10)
			t10 = a->threads[i].alloc.bytes;
		if (a->threads[i].tid == 11)
			t11 = a->threads[i].alloc.bytes;
	}
	assert_int_equal(t10, 424);
	assert_int_equal(t11, 1208);
	/* histogram: 100→[64,127], 300→[256,511], 500→[256,511], 700→[512,1023], 24→[16,31], 8→[8,15] */
	assert_int_equal(a->hist[ma_hist_bucket(100)].count, 1);
	assert_int_equal(a->hist[ma_hist_bucket(300)].count, 2);
	assert_int_equal(a->hist[ma_hist_bucket(700)].count, 1);
	assert_int_equal(ma_hist_min(ma_hist_bucket(300)), 256);
	assert_int_equal(ma_hist_max(ma_hist_bucket(300)), 511);
	assert_false(a->replay.truncated);
	assert_true(a->complete);
	assert_int_equal(a->pid, 4242);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

/* Thread 1 frees a block that thread 2 then gets again at the same address:
 * thread 2's batch reaches the stream before thread 1's. */
static void test_cross_thread_reuse(void **state)
{
	(void)state;
	char *p = synth_tmpname("an2");
	synth *s = synth_open(p);
	synth_header(s, 0);
	synth_event(s, 2, MALLOC, 0xa000, 64, 5);
	synth_flush_thread(s, 2);
	synth_event(s, 1, FREE, 0xa000, 0, 0);     /* seq 1, in thread 1's buffer */
	synth_event(s, 2, MALLOC, 0xa000, 32, 6);  /* seq 2, reuse */
	synth_flush_thread(s, 2);                   /* seq 2 before seq 1 in the file */
	synth_flush_thread(s, 1);
	synth_tick(s, 0);
	synth_finish(s, 1);
	synth_close(s);
	ma_analysis *a = analyse(p);
	assert_int_equal(a->total_allocations, 2);
	assert_int_equal(a->total_frees, 1);
	assert_int_equal(a->implicit_frees, 0);
	assert_int_equal(a->untracked_frees, 0);
	assert_int_equal(a->live_bytes, 32);
	assert_int_equal(a->live_blocks, 1);
	assert_int_equal(a->peak_bytes, 64);
	assert_int_equal(stk(a, 5)->live.count, 0);
	assert_int_equal(stk(a, 6)->live.bytes, 32);
	ma_analysis_free(a);
	unlink(p);
	free(p);
}

/* An allocation at a live address: the missed free is counted. */
static void test_implicit_free(void **state)
{
	(void)state;
	ma_analysis *a = ma_analysis_new();
	ma_event e = { .seq = 1, .tid = 1, .kind = MALLOC, .addr = 0x100, .size = 10, .stack = 1 };
	ma_analysis_event(a, &e);
	e.seq = 2;
	e.size = 30;
	e.stack = 2;
	ma_analysis_event(a, &e);
	e = (ma_event){ .seq = 3, .tid = 1, .kind = MALLOC, .addr = 0, .size = 5 };
	ma_analysis_event(a, &e);                   /* failed allocation: ignored */
	ma_analysis_finish(a);
	assert_int_equal(a->total_allocations, 2);
	assert_int_equal(a->null_allocations, 1);
	assert_int_equal(a->total_frees, 1);
	assert_int_equal(a->implicit_frees, 1);
	assert_int_equal(a->live_bytes, 30);
	assert_int_equal(a->live_blocks, 1);
	assert_int_equal(a->peak_bytes, 30);
	assert_int_equal(stk(a, 1)->live.count, 0);
	assert_int_equal(stk(a, 1)->freed.count, 1);
	assert_int_equal(stk(a, 2)->live.bytes, 30);
	ma_analysis_free(a);
}

static void ev(ma_analysis *a, uint64_t seq, uint32_t kind, uint64_t addr, uint64_t size, uint32_t stack)
{
	ma_event e = { .seq = seq, .time_ns = seq * 10, .tid = 1, .kind = kind, .addr = addr,
		       .size = size, .stack = stack };
	ma_analysis_event(a, &e);
}

static void test_munmap(void **state)
{
	(void)state;
	ma_analysis *a = ma_analysis_new();
	const uint64_t B = 0x10000000, P = 4096;
	ev(a, 1, MMAP, B, 16 * P, 1);                 /* [0,16) */
	ev(a, 2, MMAP, B + 32 * P, 4 * P, 2);         /* [32,36) */
	assert_int_equal(a->live_bytes, 20 * P);
	ev(a, 3, MUNMAP, B + 4 * P, P, 0);            /* hole: [0,4) [5,16) */
	assert_int_equal(a->live_bytes, 19 * P);
	assert_int_equal(a->live_blocks, 2);
	assert_int_equal(a->total_frees, 0);
	ev(a, 4, MUNMAP, B, 4 * P, 0);                /* left piece gone, mapping lives on */
	assert_int_equal(a->total_frees, 0);
	assert_int_equal(a->live_bytes, 15 * P);
	ev(a, 5, MUNMAP, B + 100 * P, P, 0);          /* never tracked: ignored */
	assert_int_equal(a->ignored_unmaps, 1);
	ev(a, 6, MUNMAP, B + 10 * P, 24 * P, 0);      /* [10,34): shrinks both */
	assert_int_equal(a->live_bytes, 5 * P + 2 * P);
	assert_int_equal(a->total_frees, 0);
	ev(a, 7, MUNMAP, B, 64 * P, 0);               /* everything: two frees */
	assert_int_equal(a->total_frees, 2);
	assert_int_equal(a->live_bytes, 0);
	assert_int_equal(a->live_blocks, 0);
	/* mremap: old range out, new range in; a map over a map replaces it */
	ev(a, 8, MMAP, B, 2 * P, 3);
	ev(a, 9, MREMAP_FREE, B, 2 * P, 3);
	ev(a, 10, MREMAP, B + 8 * P, 8 * P, 3);
	ev(a, 11, MMAP, B + 12 * P, 8 * P, 4);        /* MAP_FIXED over half of it */
	ma_analysis_finish(a);
	assert_int_equal(a->total_frees, 3);
	assert_int_equal(a->live_bytes, 12 * P);
	assert_int_equal(a->live_blocks, 2);
	assert_int_equal(a->total_allocations, 5);
	assert_int_equal(a->peak_bytes, 20 * P);
	assert_int_equal(stk(a, 3)->live.bytes, 4 * P);
	assert_int_equal(stk(a, 4)->live.bytes, 8 * P);
	assert_int_equal(stk(a, 1)->at_peak.bytes, 16 * P);
	assert_int_equal(stk(a, 2)->at_peak.bytes, 4 * P);
	assert_int_equal(stk(a, 1)->freed.count, 1);
	ma_analysis_free(a);
}

/* --- random streams against a naive model --------------------------------- */

#define NSTACKS 6
#define NSLOTS 300

typedef struct model {
	uint64_t addr[NSLOTS], size[NSLOTS];
	uint32_t stack[NSLOTS];
	int live[NSLOTS];
	uint64_t live_bytes, peak, peak_seq, allocs, frees, untracked, bytes;
	uint64_t st_live[NSTACKS + 1], st_peak[NSTACKS + 1], st_alloc[NSTACKS + 1];
} model;

static void model_peak(model *m, uint64_t seq)
{
	if (m->live_bytes > m->peak) {
		m->peak = m->live_bytes;
		m->peak_seq = seq;
		memcpy(m->st_peak, m->st_live, sizeof m->st_peak);
	}
}

static void test_random_vs_model(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 5; seed++) {
		srand(seed);
		char *p = synth_tmpname("anr");
		synth *s = synth_open(p);
		synth_header(s, 1000);
		model m;
		memset(&m, 0, sizeof m);
		for (int i = 0; i < NSLOTS; i++)
			m.addr[i] = 0x100000 + 0x40 * (uint64_t)i;
		for (int i = 0; i < 20000; i++) {
			uint32_t tid = 1 + (uint32_t)(rand() % 4);
			int slot = rand() % NSLOTS;
			int r = rand() % 10;
			uint64_t seq;
			if (r == 0) {
				/* free of something never allocated */
				synth_event(s, tid, FREE, 0x900000 + 16 * (uint64_t)(rand() % 100), 0, 0);
				m.untracked++;
			} else if (m.live[slot]) {
				if (r < 4) {
					/* realloc */
					uint64_t sz = 1 + (uint64_t)(rand() % 5000);
					uint32_t st = 1 + (uint32_t)(rand() % NSTACKS);
					synth_event(s, tid, REALLOC_FREE, m.addr[slot], 0, st);
					m.frees++;
					m.live_bytes -= m.size[slot];
					m.st_live[m.stack[slot]] -= m.size[slot];
					seq = synth_event(s, tid, REALLOC, m.addr[slot], sz, st);
					m.allocs++;
					m.bytes += sz;
					m.size[slot] = sz;
					m.stack[slot] = st;
					m.live_bytes += sz;
					m.st_live[st] += sz;
					m.st_alloc[st] += sz;
					model_peak(&m, seq);
				} else {
					synth_event(s, tid, FREE, m.addr[slot], 0, 0);
					m.frees++;
					m.live[slot] = 0;
					m.live_bytes -= m.size[slot];
					m.st_live[m.stack[slot]] -= m.size[slot];
				}
			} else {
				uint64_t sz = (uint64_t)(rand() % 3000);
				uint32_t st = 1 + (uint32_t)(rand() % NSTACKS);
				seq = synth_event(s, tid, r < 5 ? CALLOC : MALLOC, m.addr[slot], sz, st);
				m.allocs++;
				m.bytes += sz;
				m.live[slot] = 1;
				m.size[slot] = sz;
				m.stack[slot] = st;
				m.live_bytes += sz;
				m.st_live[st] += sz;
				m.st_alloc[st] += sz;
				model_peak(&m, seq);
			}
			if (rand() % 13 == 0)
				synth_flush_thread(s, 1 + (uint32_t)(rand() % 4));
			if (rand() % 500 == 0)
				synth_tick(s, 0);
		}
		synth_finish(s, 1);
		synth_close(s);

		ma_analysis *a = analyse(p);
		assert_int_equal(a->total_allocations, m.allocs);
		assert_int_equal(a->total_frees, m.frees);
		assert_int_equal(a->untracked_frees, m.untracked);
		assert_int_equal(a->total_bytes_allocated, m.bytes);
		assert_int_equal(a->peak_bytes, m.peak);
		assert_int_equal(a->peak_seq, m.peak_seq);
		assert_int_equal(a->live_bytes, m.live_bytes);
		assert_int_equal(a->implicit_frees, 0);
		for (uint32_t st = 1; st <= NSTACKS; st++) {
			const ma_stack_stats *x = stk(a, st);
			assert_int_equal(x->live.bytes, m.st_live[st]);
			assert_int_equal(x->at_peak.bytes, m.st_peak[st]);
			assert_int_equal(x->alloc.bytes, m.st_alloc[st]);
		}
		ma_analysis_free(a);
		unlink(p);
		free(p);
	}
}

/* Many live blocks: the table grows and shrinks through deletions. */
static void test_many_blocks(void **state)
{
	(void)state;
	ma_analysis *a = ma_analysis_new();
	uint64_t seq = 0;
	const uint64_t N = 300000;
	for (uint64_t i = 0; i < N; i++)
		ev(a, seq++, MALLOC, 0x10000 + 16 * i, 16, (uint32_t)(i % 1000));
	for (uint64_t i = 0; i < N; i += 2)
		ev(a, seq++, FREE, 0x10000 + 16 * i, 0, 0);
	for (uint64_t i = 1; i < N; i += 2)
		ev(a, seq++, FREE, 0x10000 + 16 * i, 0, 0);
	ev(a, seq++, FREE, 0x10000, 0, 0);
	ma_analysis_finish(a);
	assert_int_equal(a->total_frees, N);
	assert_int_equal(a->untracked_frees, 1);
	assert_int_equal(a->live_blocks, 0);
	assert_int_equal(a->peak_bytes, 16 * N);
	assert_int_equal(a->nstacks, 1000);
	assert_int_equal(stk(a, 7)->at_peak.count, N / 1000);
	ma_analysis_free(a);
}

/* A stream of ever new modules and threads (a hostile target): the
 * analysis keeps at most MA_MAX_MODULES / MA_MAX_THREADS and says so. */
static void test_cross_record_limits(void **state)
{
	(void)state;
	char err[256], path[64];
	ma_analysis *a = ma_analysis_new();
	Memattach__Module m = MEMATTACH__MODULE__INIT;
	m.path = path;
	for (uint32_t i = 0; i < MA_MAX_MODULES; i++) {
		snprintf(path, sizeof path, "/lib/m%u.so", i);
		m.load_address = 0x10000000ull + 0x1000ull * i;
		ma_analysis_ops.module(a, &m);
	}
	assert_null(ma_analysis_limit_error(a, err, sizeof err));
	assert_int_equal(a->nmodules, MA_MAX_MODULES);
	m.load_address = 1;
	ma_analysis_ops.module(a, &m);
	assert_int_equal(a->nmodules, MA_MAX_MODULES);
	assert_non_null(ma_analysis_limit_error(a, err, sizeof err));
	assert_non_null(strstr(err, "more than 16384 distinct modules"));
	ma_analysis_free(a);

	a = ma_analysis_new();
	Memattach__ThreadInfo t = MEMATTACH__THREAD_INFO__INIT;
	t.name = (char *)"w";
	for (uint32_t i = 1; i <= MA_MAX_THREADS + 5; i++) {
		t.tid = i;
		ma_analysis_ops.thread(a, &t);
	}
	assert_int_equal(a->nthreads, MA_MAX_THREADS);
	assert_non_null(ma_analysis_limit_error(a, err, sizeof err));
	assert_non_null(strstr(err, "distinct threads"));
	ma_analysis_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_totals),
		cmocka_unit_test(test_temporary),
		cmocka_unit_test(test_cross_thread_reuse),
		cmocka_unit_test(test_implicit_free),
		cmocka_unit_test(test_munmap),
		cmocka_unit_test(test_random_vs_model),
		cmocka_unit_test(test_many_blocks),
		cmocka_unit_test(test_events_lost),
		cmocka_unit_test(test_cross_record_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

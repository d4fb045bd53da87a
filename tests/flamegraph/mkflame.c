/* mkflame — synthetic captures for the flame graph test.
 *   mkflame OUT.cap            a small capture with named functions, two
 *                              threads and a known call tree; prints the
 *                              exact values the page must show (JSON)
 *   mkflame OUT.cap --older    the same program's first phase only: the
 *                              base of a --base page; prints the changes
 *                              the page must show (JSON)
 *   mkflame OUT.cap --ns       the small capture of a container's target:
 *                              its pid and threads paired with the host's
 *                              (TargetIds: 4242 is 9876, tids 100 and 101
 *                              are 5100 and 5101)
 *   mkflame OUT.cap --stacks N N distinct stacks (load-time measurement) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

enum { F_MAIN = 1, F_PARSE, F_INDEX, F_CONFIG, F_CACHE, F_XMALLOC, F_WORKER };
static const char *fname[] = { "", "main", "parse_input", "build_index", "load_config",
			       "leak_cache", "grow_buf", "worker_thread" };
#define ADDR(f) (0x400000ull + (uint64_t)(f) * 0x100)

/* A container's target: the ids memattach saw on the host for the
 * agent's pid 4242 and threads 100 and 101 (TargetIds, as session.c
 * writes it). */
static void target_ids(synth *s)
{
	static uint32_t host[] = { 5100, 5101 }, inner[] = { 100, 101 };
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__TargetIds t = MEMATTACH__TARGET_IDS__INIT;
	t.pid = 9876;
	t.pid_in_namespace = 4242;
	t.n_tid = t.n_tid_in_namespace = 2;
	t.tid = host;
	t.tid_in_namespace = inner;
	rec.r_case = MEMATTACH__RECORD__R_TARGET_IDS;
	rec.target_ids = &t;
	synth_record(s, &rec);
}

static void small(const char *path, int older, int ns)
{
	synth *s = synth_open(path);
	synth_header(s, 1);
	if (ns)
		target_ids(s);
	for (int f = F_MAIN; f <= F_WORKER; f++)
		synth_symbol(s, ADDR(f), fname[f]);
	synth_thread(s, 100, "main");
	synth_thread(s, 101, "worker");
	/* innermost first */
	uint64_t st1[] = { ADDR(F_XMALLOC), ADDR(F_PARSE), ADDR(F_MAIN) };
	uint64_t st2[] = { ADDR(F_XMALLOC), ADDR(F_INDEX), ADDR(F_WORKER) };
	uint64_t st3[] = { ADDR(F_CACHE), ADDR(F_CONFIG), ADDR(F_MAIN) };
	uint64_t st4[] = { ADDR(F_XMALLOC), ADDR(F_INDEX), ADDR(F_PARSE), ADDR(F_MAIN) };
	synth_stack(s, 1, 3, st1);
	synth_stack(s, 2, 3, st2);
	synth_stack(s, 3, 3, st3);
	synth_stack(s, 4, 4, st4);
	uint64_t a = 0x10000;
	for (int i = 0; i < 10; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__MALLOC, a + 0x1000 * (uint64_t)i, 1000, 1);
	for (int i = 0; i < 5; i++)
		synth_event(s, 101, MEMATTACH__EVENT_KIND__MALLOC, a + 0x100000 + 0x1000 * (uint64_t)i, 2000, 2);
	synth_tick(s, 1 << 20);
	if (older) {
		synth_finish(s, 1);
		synth_close(s);
		/* this capture's phase one is the whole base: changes by
		 * function (outermost frame of that name) */
		printf("{\"modes\": {"
		       "\"peak\": {\"all\": 14288, \"main\": 14288, \"parse_input\": 2000, \"build_index\": 2000,"
		       " \"worker_thread\": 0, \"leak_cache\": 12288, \"grow_buf\": 2000},"
		       "\"leak\": {\"all\": -5712, \"main\": 4288, \"parse_input\": -8000, \"build_index\": -8000,"
		       " \"worker_thread\": -10000, \"leak_cache\": 12288, \"grow_buf\": -18000}},"
		       " \"hover_mode\": \"leak\", \"hover\": \"worker_thread\","
		       " \"hover_text\": \"this capture 0 B, base 10,000 B, change -10,000 B\","
		       " \"colors\": {\"worker_thread\": 215, \"leak_cache\": 0},"
		       /* the thread filter, matched by name in both captures:
			* [this capture's total, changes by function] */
		       " \"threads\": {"
		       "\"worker\": {\"leak\": [2000, {\"all\": -8000, \"main\": 2000, \"worker_thread\": -10000,"
		       " \"grow_buf\": -8000, \"leak_cache\": 0}],"
		       " \"total\": [12000, {\"all\": 2000, \"main\": 2000, \"worker_thread\": 0, \"build_index\": 2000}]},"
		       " \"main\": {\"leak\": [12288, {\"all\": 2288, \"main\": 2288, \"leak_cache\": 12288,"
		       " \"parse_input\": -10000, \"worker_thread\": 0}],"
		       " \"total\": [28288, {\"all\": 18288, \"parse_input\": 6000, \"leak_cache\": 12288}]}}}\n");
		return;
	}
	for (int i = 0; i < 3; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__CALLOC, a + 0x200000 + 0x2000 * (uint64_t)i, 4096, 3);
	for (int i = 0; i < 4; i++)
		synth_event(s, 101, MEMATTACH__EVENT_KIND__MALLOC, a + 0x300000 + 0x1000 * (uint64_t)i, 500, 4);
	synth_tick(s, 2 << 20);
	for (int i = 0; i < 10; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__FREE, a + 0x1000 * (uint64_t)i, 0, 0);
	for (int i = 0; i < 5; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__FREE, a + 0x100000 + 0x1000 * (uint64_t)i, 0, 0);
	synth_tick(s, 2 << 20);
	for (int i = 0; i < 2; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__MALLOC, a + 0x400000 + 0x1000 * (uint64_t)i, 3000, 1);
	for (int i = 0; i < 2; i++)
		synth_event(s, 100, MEMATTACH__EVENT_KIND__FREE, a + 0x400000 + 0x1000 * (uint64_t)i, 0, 0);
	synth_tick(s, 2 << 20);
	synth_finish(s, 1);
	synth_close(s);
	/* The truth, worked out from the events above.  Values of a function
	 * count each allocation once (outermost frame of that name). */
	printf("{\"modes\": {"
	       "\"peak\": {\"all\": 34288, \"main\": 24288, \"worker_thread\": 10000, \"parse_input\": 12000,"
	       " \"build_index\": 12000, \"leak_cache\": 12288, \"grow_buf\": 22000},"
	       "\"leak\": {\"all\": 14288, \"main\": 14288, \"worker_thread\": 0, \"parse_input\": 2000,"
	       " \"build_index\": 2000, \"leak_cache\": 12288, \"grow_buf\": 2000},"
	       "\"total\": {\"all\": 40288, \"main\": 30288, \"worker_thread\": 10000, \"parse_input\": 18000,"
	       " \"build_index\": 12000, \"leak_cache\": 12288, \"grow_buf\": 28000}},"
	       " \"threads_total\": {\"100\": 28288, \"101\": 12000},"
	       " \"peak_bytes\": 34288, \"leaked_bytes\": 14288, \"total_bytes\": 40288,"
	       " \"moments_heap\": [20000, 34288, 14288, 14288],"
	       /* bottom-up at the peak: allocation sites first */
	       " \"inverted\": {\"grow_buf\": 22000, \"leak_cache\": 12288, \"grow_buf;build_index\": 12000,"
	       " \"grow_buf;parse_input\": 10000, \"grow_buf;build_index;worker_thread\": 10000,"
	       " \"grow_buf;build_index;parse_input\": 2000, \"leak_cache;load_config;main\": 12288},"
	       /* drags on the chart [from ns, to ns, values]: allocated after
	        * the last moment at or before the start (moments at 15, 22,
	        * 37, 41 us), live at the moment nearest the end */
	       " \"ranges\": [[500, 22000, {\"all\": 34288, \"main\": 24288}],"
	       " [15500, 22000, {\"all\": 14288, \"leak_cache\": 12288, \"build_index\": 2000,"
	       " \"worker_thread\": 0, \"main\": 14288}],"
	       " [16000, 37000, {\"all\": 14288, \"parse_input\": 2000}],"
	       " [23000, 41000, {\"all\": 0}]]}\n");
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* N distinct stacks over a pool of named functions, four threads, many
 * ticks; about half the blocks are freed again. */
static void big(const char *path, uint32_t nstacks)
{
	synth *s = synth_open(path);
	synth_header(s, 1);
	const uint32_t nfn = 3000;
	char name[64];
	for (uint32_t f = 0; f < nfn; f++) {
		snprintf(name, sizeof name, "module%u::function_%u", f % 37, f);
		synth_symbol(s, 0x500000ull + f * 0x40, name);
	}
	/* stacks share prefixes, like real programs: a stack extends a random
	 * earlier one by a few frames */
	uint64_t (*fr)[24] = calloc(nstacks + 1, sizeof *fr);
	uint8_t *depth = calloc(nstacks + 1, 1);
	if (!fr || !depth)
		exit(1);
	uint64_t tmp[24];
	for (uint32_t id = 1; id <= nstacks; id++) {
		uint32_t from = id > 1 ? 1 + (uint32_t)(next() % (id - 1)) : 0;
		uint32_t d = from ? depth[from] : 0;
		if (d > 18)
			d = 6 + (uint32_t)(next() % 8);
		/* outermost first in fr[] */
		if (from)
			memcpy(fr[id], fr[from], d * sizeof fr[id][0]);
		uint32_t add = 1 + (uint32_t)(next() % 4);
		for (uint32_t k = 0; k < add; k++)
			fr[id][d + k] = 0x500000ull + (next() % nfn) * 0x40;
		depth[id] = (uint8_t)(d + add);
		for (uint32_t k = 0; k < depth[id]; k++)
			tmp[k] = fr[id][depth[id] - 1 - k];
		synth_stack(s, id, depth[id], tmp);
	}
	const uint64_t ws = 200000;
	uint8_t *live = calloc(ws, 1);
	if (!live)
		exit(1);
	uint64_t events = (uint64_t)nstacks * 4;
	for (uint64_t i = 0; i < events; i++) {
		uint64_t r = next();
		uint32_t tid = 1000 + (uint32_t)(r % 4);
		uint64_t slot = (r >> 8) % ws;
		uint64_t addr = 0x7f0000000000ull + slot * 4096;
		/* every stack gets an allocation in the first pass */
		uint32_t stack = i < nstacks ? (uint32_t)i + 1 : 1 + (uint32_t)((r >> 24) % nstacks);
		if (live[slot] && i >= nstacks) {
			synth_event(s, tid, MEMATTACH__EVENT_KIND__FREE, addr, 0, 0);
			live[slot] = 0;
		} else {
			if (live[slot])
				synth_event(s, tid, MEMATTACH__EVENT_KIND__FREE, addr, 0, 0);
			synth_event(s, tid, MEMATTACH__EVENT_KIND__MALLOC, addr, 16 + ((r >> 40) & 4095), stack);
			live[slot] = 1;
		}
		if ((i & 511) == 511)
			synth_flush_thread(s, tid);
		if (i % 1000 == 999)
			synth_tick(s, 400ull << 20);
	}
	synth_finish(s, 1);
	synth_close(s);
	free(fr);
	free(depth);
	free(live);
}

int main(int argc, char **argv)
{
	if (argc == 2) {
		small(argv[1], 0, 0);
	} else if (argc == 3 && !strcmp(argv[2], "--older")) {
		small(argv[1], 1, 0);
	} else if (argc == 3 && !strcmp(argv[2], "--ns")) {
		small(argv[1], 0, 1);
	} else if (argc == 4 && !strcmp(argv[2], "--stacks")) {
		big(argv[1], (uint32_t)strtoul(argv[3], NULL, 0));
	} else {
		fprintf(stderr, "usage: mkflame OUT.cap [--stacks N]\n");
		return 2;
	}
	return 0;
}

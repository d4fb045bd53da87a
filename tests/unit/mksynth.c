/* mksynth — writes a synthetic capture of N events the way the agent would
 * (threads' batches interleaved, ticks with watermarks) and prints the exact
 * totals `memattach report stats --json` must find in it.
 *   usage: mksynth OUT.cap EVENTS [THREADS] [WORKING_SET] */
#include <stdio.h>
#include <stdlib.h>

#include "record_io.h"
#include "synth.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: mksynth OUT.cap EVENTS [THREADS] [WORKING_SET]\n");
		return 2;
	}
	uint64_t n = strtoull(argv[2], NULL, 0);
	uint32_t threads = argc > 3 ? (uint32_t)atoi(argv[3]) : 4;
	uint64_t ws = argc > 4 ? strtoull(argv[4], NULL, 0) : 100000;
	if (threads < 1 || threads > 64 || ws < 1) {
		fprintf(stderr, "mksynth: 1..64 threads, working set >= 1\n");
		return 2;
	}
	uint64_t *size = calloc(ws, sizeof *size);
	uint8_t *live = calloc(ws, 1);
	if (!size || !live)
		return 1;
	synth *s = synth_open(argv[1]);
	synth_header(s, 1);
	uint64_t frames[8];
	for (uint32_t id = 1; id <= 1000; id++) {
		for (int k = 0; k < 8; k++)
			frames[k] = 0x555555554000ull + id * 0x40 + (uint64_t)k * 0x1000;
		synth_stack(s, id, 1 + id % 8, frames);
	}
	uint64_t allocs = 0, frees = 0, bytes = 0, cur = 0, peak = 0, nlive = 0, untracked = 0;
	uint64_t counts[64] = { 0 };
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = next();
		uint32_t tid = 1000 + (uint32_t)(r % threads);
		uint64_t slot = (r >> 8) % ws;
		uint64_t addr = 0x7f3a00000000ull + slot * 4096 + ((r >> 40) & 63) * 16;
		uint32_t stack = 1 + (uint32_t)((r >> 20) % 1000);
		if ((r >> 50) % 1000 == 0) {
			synth_event(s, tid, MEMATTACH__EVENT_KIND__FREE, 0x1000 + (r & 0xfff0), 0, 0);
			untracked++;
		} else if (live[slot]) {
			/* the address of a block depends on its slot only while live */
			addr = 0x7f3a00000000ull + slot * 4096;
			synth_event(s, tid, MEMATTACH__EVENT_KIND__FREE, addr, 0, 0);
			live[slot] = 0;
			cur -= size[slot];
			nlive--;
			frees++;
			counts[MEMATTACH__EVENT_KIND__FREE]++;
		} else {
			addr = 0x7f3a00000000ull + slot * 4096;
			uint64_t sz = 8 + ((r >> 30) & 0xff) * (1 + ((r >> 45) & 15));
			uint32_t kind = (r >> 58) % 4 == 0 ? MEMATTACH__EVENT_KIND__CALLOC
							   : MEMATTACH__EVENT_KIND__MALLOC;
			synth_event(s, tid, kind, addr, sz, stack);
			live[slot] = 1;
			size[slot] = sz;
			cur += sz;
			nlive++;
			allocs++;
			bytes += sz;
			counts[kind]++;
			if (cur > peak)
				peak = cur;
		}
		if ((i & 511) == 511)
			synth_flush_thread(s, tid);
		if (i % 50000 == 49999)
			synth_tick(s, 100ull << 20);
	}
	synth_finish(s, 1);
	synth_close(s);
	printf("total_allocations %llu\ntotal_frees %llu\ntotal_bytes_allocated %llu\n"
	       "peak_bytes %llu\nleaked_bytes %llu\nleaked_allocations %llu\nuntracked_frees %llu\n"
	       "malloc %llu\ncalloc %llu\n",
	       (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)bytes,
	       (unsigned long long)peak, (unsigned long long)cur, (unsigned long long)nlive,
	       (unsigned long long)untracked, (unsigned long long)counts[MEMATTACH__EVENT_KIND__MALLOC],
	       (unsigned long long)counts[MEMATTACH__EVENT_KIND__CALLOC]);
	free(size);
	free(live);
	return 0;
}

/* test_rx_trackers.c — the in-process receiver's trackers (cli/cmd/
 * rx_trackers.c) fed a stream as the agent sends it: the first tracker,
 * raw, goes on with rebuilt batches when a second one opens, and has each
 * event of the stream exactly once.  Its cut per thread comes from the
 * batches it had; the agent writes them in the compact layout (seqs as
 * index gap, delta pairs), so a thread's seq breaks (other threads'
 * events between its own) and runs past the Tick's watermark are what
 * matters here (trackers.sh once lost one of 196 allocations this way). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cmd/rx_trackers.h"
#include "record_io.h"
#include "records.h"
#include "synth.h"

#define CHURN 7      /* the thread that allocates without pause */
#define OTHER 8      /* another thread, whose events fall between */

struct rx_test {
	struct rx_hub h;
	char *talk_buf;
	size_t talk_len;
	char *path[2];
};

/* One record as receive.c's on_record has it: the raw tracker's file
 * gets its bytes, then the hub the record. */
static void feed(struct rx_test *x, const Memattach__Record *r)
{
	size_t flen;
	uint8_t *framed = test_pack_framed(r, &flen);
	uint64_t len;
	int k = ma_varint_get(framed, framed + flen, &len);
	assert_true(k > 0 && (size_t)k + len == flen);
	rx_hub_write_raw(&x->h, framed, flen);
	Memattach__Record *got;
	char err[256] = "";
	if (rx_hub_push(&x->h, framed + k, (size_t)len, &got, err, sizeof err))
		fail_msg("rx_hub_push: %s", err);
	ma_live_record_free(got);
	free(framed);
}

/* Each thread's last allocation (CHURN, OTHER). */
static uint64_t last_block[2];

/* A compact batch (EventBatch.layout 1, as agent/batch_wire.c writes
 * it) of thread tid: seq[i], a malloc of 100 B when alloc[i], else the
 * free of the thread's last one. */
static void batch(struct rx_test *x, uint32_t tid, size_t n, const uint64_t *seq, const int *alloc)
{
	uint64_t pairs[64], size[32], addr_u[32];
	int64_t addr[32];
	uint64_t *block = &last_block[tid - CHURN];
	uint32_t kind[32], stack[32];
	size_t np = 0, ns = 0, last = 0;
	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++) {
		if (seq[i] != (i ? seq[i - 1] : 0) + 1) {
			pairs[np++] = i - last;
			pairs[np++] = seq[i] - (i ? seq[i - 1] : 0);
			last = i;
		}
		if (alloc[i])
			*block = 0x100000 * tid + 16 * seq[i];
		addr_u[i] = *block;
		addr[i] = (int64_t)(addr_u[i] - (i ? addr_u[i - 1] : 0));
		kind[i] = alloc[i] ? MEMATTACH__EVENT_KIND__MALLOC : MEMATTACH__EVENT_KIND__FREE;
		if (alloc[i]) {
			size[ns] = 100;
			stack[ns++] = 1;
		}
	}
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	b.tid = tid;
	b.layout = 1;
	b.seq_delta = pairs, b.n_seq_delta = np;
	b.addr_delta = addr, b.n_addr_delta = n;
	b.size = size, b.n_size = ns;
	b.kind = kind, b.n_kind = n;
	b.stack = stack, b.n_stack = ns;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	feed(x, &r);
}

static void tick(struct rx_test *x, uint64_t watermark)
{
	Memattach__Tick t = MEMATTACH__TICK__INIT;
	t.watermark = watermark;
	t.time_ns = watermark * 1000;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_TICK;
	r.tick = &t;
	feed(x, &r);
}

/* The first tracker (raw: of every thread, from the stream's Header). */
static struct rx_tracker *start(struct rx_test *x)
{
	memset(x, 0, sizeof *x);
	memset(last_block, 0, sizeof last_block);
	FILE *talk = open_memstream(&x->talk_buf, &x->talk_len);
	assert_non_null(talk);
	assert_int_equal(rx_hub_init(&x->h, talk), 0);
	char err[256];
	x->path[0] = synth_tmpname("rxa");
	x->path[1] = synth_tmpname("rxb");
	struct rx_tracker *a = rx_tracker_new(&x->h, 1, 0, x->path[0], err, sizeof err);
	assert_non_null(a);
	rx_tracker_start(&x->h, a, 0);
	Memattach__Header hd = MEMATTACH__HEADER__INIT;
	hd.format_major = MA_FORMAT_MAJOR;
	hd.first_seq = 1;
	hd.pid = 4242;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_HEADER;
	r.header = &hd;
	feed(x, &r);
	assert_ptr_equal(x->h.raw, a);
	return a;
}

/* A second tracker opens at the Tick of watermark w (a sync's). */
static struct rx_tracker *open_second(struct rx_test *x, uint64_t w)
{
	char err[256];
	tick(x, w);
	struct rx_tracker *b = rx_tracker_new(&x->h, 2, 0, x->path[1], err, sizeof err);
	assert_non_null(b);
	rx_tracker_start(&x->h, b, w);
	assert_null(x->h.raw);
	return b;
}

static uint64_t seen[64];
static size_t nseen;

static void on_event(void *ctx, const ma_event *e)
{
	(void)ctx;
	if (nseen < 64)
		seen[nseen] = e->seq;
	nseen++;
}

/* Both closed at watermark w; the first's capture holds the events of
 * seq 1..w-1 (all there are), each once, and its totals say so. */
static void finish(struct rx_test *x, struct rx_tracker *a, struct rx_tracker *b, uint64_t w,
		   unsigned allocs)
{
	tick(x, w);
	rx_tracker_close(&x->h, a, w, NULL);
	rx_tracker_close(&x->h, b, w, NULL);
	fclose(x->h.talk);
	char want[64];
	snprintf(want, sizeof want, "\"total_allocations\":%u,", allocs);
	if (!strstr(x->talk_buf, want))
		fail_msg("the first tracker's totals: %s; want %s", x->talk_buf, want);
	ma_replay_ops ops = { .event = on_event };
	ma_replay_result res;
	char err[256] = "";
	nseen = 0;
	assert_int_equal(ma_replay_file(x->path[0], &ops, NULL, &res, err, sizeof err), 0);
	assert_int_equal(res.late_events + res.invalid_events, 0);
	assert_int_equal(nseen, w - 1);
	for (size_t i = 0; i < nseen; i++)
		assert_int_equal(seen[i], i + 1);
	rx_hub_free(&x->h);
	for (int i = 0; i < 2; i++) {
		unlink(x->path[i]);
		free(x->path[i]);
	}
	free(x->talk_buf);
}

/* The churning thread's last raw batch ends after seq breaks (the other
 * thread's events between its own) and before the Tick's watermark: its
 * next events, just past it, are the first tracker's too. */
static void test_breaks_then_open(void **state)
{
	(void)state;
	struct rx_test x;
	struct rx_tracker *a = start(&x);
	static const uint64_t c1[] = { 1, 3, 5, 7, 9, 11 }, o1[] = { 2, 4, 6, 8, 10 };
	static const int c1a[] = { 1, 0, 1, 0, 1, 0 }, o1a[] = { 1, 0, 1, 0, 1 };
	batch(&x, CHURN, 6, c1, c1a);
	batch(&x, OTHER, 5, o1, o1a);
	struct rx_tracker *b = open_second(&x, 12);
	static const uint64_t c2[] = { 12, 13, 14, 15 }, o2[] = { 16 };
	static const int c2a[] = { 1, 0, 1, 0 }, o2a[] = { 0 };
	batch(&x, CHURN, 4, c2, c2a);
	batch(&x, OTHER, 1, o2, o2a);
	finish(&x, a, b, 17, 3 + 3 + 2);
}

/* The churning thread's last raw batch is one run of seqs that goes past
 * the Tick's watermark (events made between the writer's read of the seq
 * and its sweep): those past it reach the first tracker once. */
static void test_run_past_watermark(void **state)
{
	(void)state;
	struct rx_test x;
	struct rx_tracker *a = start(&x);
	static const uint64_t o1[] = { 1 }, c1[] = { 2, 3, 4, 5, 6, 7, 8, 9 };
	static const int o1a[] = { 1 }, c1a[] = { 1, 0, 1, 0, 1, 0, 1, 0 };
	batch(&x, OTHER, 1, o1, o1a);
	batch(&x, CHURN, 8, c1, c1a);
	struct rx_tracker *b = open_second(&x, 6);
	static const uint64_t c2[] = { 10, 11 }, o2[] = { 12 };
	static const int c2a[] = { 1, 0 }, o2a[] = { 0 };
	batch(&x, CHURN, 2, c2, c2a);
	batch(&x, OTHER, 1, o2, o2a);
	finish(&x, a, b, 13, 1 + 4 + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breaks_then_open),
		cmocka_unit_test(test_run_past_watermark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

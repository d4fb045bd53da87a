/* test_batch_wire.c — agent/batch_wire.c's records read back by the CLI's
 * replay (cli/analysis/replay.c): every event comes back exactly (seq,
 * time to the microsecond, address, size, kind, stack, thread) in the
 * compact layout, and in the full layout when a batch breaks the compact
 * layout's rules (a free with a stack or a size); the compact layout is
 * the one used, and the smaller; ma_batch_seq_end reads either's seqs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "agent_internal.h"
#include "batch_wire.h"
#include "record_io.h"
#include "cli/analysis/replay.h"

#define START_NS 5000000123ull

static struct ma_buf buf;
static ma_event want[MA_BATCH_EVENTS], got[MA_BATCH_EVENTS];
static size_t ngot;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void on_event(void *ctx, const ma_event *e)
{
	(void)ctx;
	if (ngot < MA_BATCH_EVENTS)
		got[ngot] = *e;
	ngot++;
}

/* One event into buf and what the reader must make of it (the time
 * truncated to the microsecond and never going back within the batch). */
static void add(uint64_t seq, uint32_t kind, uint64_t addr, uint64_t size, uint32_t stack,
		uint64_t now, uint64_t *latest)
{
	uint32_t i = buf.n++;
	if (!buf.nmarks || buf.mark_time[buf.nmarks - 1] != now) {
		buf.mark_at[buf.nmarks] = i;
		buf.mark_time[buf.nmarks++] = now;
	}
	buf.seq_kind[i] = seq << 8 | kind;
	buf.addr[i] = addr;
	buf.size[i] = size;
	buf.stack[i] = stack;
	uint64_t t = now - now % 1000, t0 = START_NS - START_NS % 1000;
	t = t > t0 ? t - t0 : 0;
	if (t > *latest)
		*latest = t;
	want[i] = (ma_event){ .seq = seq, .time_ns = *latest, .addr = addr, .size = size,
			      .tid = buf.tid, .kind = kind, .stack = stack };
}

/* A batch of the shapes the hooks make: seqs mostly in a row with gaps
 * (other threads), times that repeat and step (and once step back),
 * 16-aligned heap addresses or, with odd, one unaligned; frees with no
 * size or stack, munmap and mremap's old range with a size. */
static void fill(uint32_t n, int odd)
{
	memset(&buf, 0, sizeof buf);
	buf.tid = 4242;
	uint64_t seq = 1000 + rnd() % 5000, now = START_NS + 777, latest = 0;
	static const uint32_t kinds[] = { 1, 2, 3, 32, 33, 12, 36, 37, 10, 34 };
	for (uint32_t i = 0; i < n; i++) {
		seq += rnd() % 4 == 0 ? 2 + rnd() % 300 : 1;
		uint64_t r = rnd();
		if (r % 5 == 0)
			now += 1 + r % 5000;
		else if (r % 997 == 0)
			now -= 2000;          /* a stale clock read: time stays */
		uint32_t kind = kinds[rnd() % 10];
		uint64_t addr = 0x7f0000000000ull + (rnd() % (1u << 24)) * 16;
		if (odd && i == n / 2)
			addr += 3;
		int alloc = kind < 32, sized = alloc || kind == 36 || kind == 37;
		uint64_t size = sized ? 1 + rnd() % 100000 : 0;
		uint32_t stack = alloc ? 1 + (uint32_t)(rnd() % 700) : 0;
		add(seq, kind, addr, size, stack, now, &latest);
	}
}

/* Field by field: a struct copy need not copy its padding (under ASan the
 * heap's fill shows through it). */
static int same_event(const ma_event *a, const ma_event *b)
{
	return a->seq == b->seq && a->time_ns == b->time_ns && a->addr == b->addr &&
	       a->size == b->size && a->tid == b->tid && a->kind == b->kind && a->stack == b->stack;
}

/* Encodes buf, reads it back through the replay; returns the layout. */
static uint32_t round_trip(size_t *bytes)
{
	uint8_t *out = malloc(ma_batch_wire_bound(buf.n));
	assert_non_null(out);
	size_t len = ma_batch_wire(&buf, START_NS, out);
	assert_true(len > 0 && len <= ma_batch_wire_bound(buf.n));
	uint64_t body;
	int k = ma_varint_get(out, out + len, &body);
	assert_true(k > 0 && (size_t)k + body == len);
	Memattach__Record *rec = memattach__record__unpack(NULL, body, out + k);
	assert_non_null(rec);
	assert_int_equal(rec->r_case, MEMATTACH__RECORD__R_EVENTS);
	uint32_t layout = rec->events->layout;
	/* the receiver's cut of a thread's batches (rx_trackers.c) reads it */
	assert_int_equal(ma_batch_seq_end(rec->events), want[buf.n - 1].seq + 1);

	ma_replay_ops ops = { .event = on_event };
	ma_replay_result res;
	ma_replayer *p = ma_replayer_new(&ops, NULL, &res);
	assert_non_null(p);
	Memattach__Header h = MEMATTACH__HEADER__INIT;
	h.format_major = MA_FORMAT_MAJOR;
	h.first_seq = 1;
	Memattach__Record hr = MEMATTACH__RECORD__INIT;
	hr.r_case = MEMATTACH__RECORD__R_HEADER;
	hr.header = &h;
	char err[256] = "";
	assert_int_equal(ma_replayer_push(p, &hr, err, sizeof err), 0);
	ngot = 0;
	int rc = ma_replayer_push(p, rec, err, sizeof err);
	if (rc)
		fail_msg("replay: %s", err);
	ma_replayer_finish(p);
	ma_replayer_free(p);
	memattach__record__free_unpacked(rec, NULL);
	free(out);

	assert_int_equal(ngot, buf.n);
	for (uint32_t i = 0; i < buf.n; i++)
		if (!same_event(&got[i], &want[i])) {
			fail_msg("event %u: seq %llu/%llu time %llu/%llu addr %llx/%llx size %llu/%llu tid %u/%u kind %u/%u stack %u/%u",
				 i, (unsigned long long)got[i].seq, (unsigned long long)want[i].seq,
				 (unsigned long long)got[i].time_ns, (unsigned long long)want[i].time_ns,
				 (unsigned long long)got[i].addr, (unsigned long long)want[i].addr,
				 (unsigned long long)got[i].size, (unsigned long long)want[i].size,
				 got[i].tid, want[i].tid, got[i].kind, want[i].kind, got[i].stack, want[i].stack);
		}
	*bytes = len;
	return layout;
}

static void test_compact_exact(void **state)
{
	(void)state;
	assert_int_equal(ma_batch_wire_prepare(), 0);
	for (int odd = 0; odd <= 1; odd++) {
		for (int round = 0; round < 20; round++) {
			size_t bytes;
			fill(round == 0 ? 1 : MA_BATCH_EVENTS - (uint32_t)(rnd() % 50), odd);
			assert_int_equal(round_trip(&bytes), 1);
		}
	}
}

/* A free with a stack (or a free's size) is not in the compact layout's
 * rules: the batch goes in the full layout, still exact; and the compact
 * one of the same events is the smaller. */
static void test_full_layout_fallback(void **state)
{
	(void)state;
	assert_int_equal(ma_batch_wire_prepare(), 0);
	size_t compact, full;
	fill(MA_BATCH_EVENTS, 0);
	assert_int_equal(round_trip(&compact), 1);
	uint32_t i = 0;
	while ((buf.seq_kind[i] & 0xff) != 32)
		i++;
	buf.stack[i] = 9;
	want[i].stack = 9;
	assert_int_equal(round_trip(&full), 0);
	assert_true(compact < full);
	buf.stack[i] = want[i].stack = 0;
	buf.size[i] = want[i].size = 64;
	assert_int_equal(round_trip(&full), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_exact),
		cmocka_unit_test(test_full_layout_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

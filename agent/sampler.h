/* sampler.h — --sample SIZE: which allocations are recorded.
 *
 * Heap allocations are sampled by bytes, a Poisson process of mean SIZE
 * (the tcmalloc / Go method): each thread counts down an exponentially
 * distributed number of bytes, and the allocation that reaches zero is
 * sampled.  An allocation of n bytes is so sampled with probability
 * 1 - exp(-n/SIZE) (the countdown is memoryless), a function of n alone:
 * readers weigh each sample from its size (proto: Header.sample_interval).
 * Only sampled blocks are unwound and recorded; their addresses go into a
 * set, and a free is recorded only when its address is found there.
 * mmap and mremap are never sampled (rare, and munmap frees parts).
 * With sampling off every call below is one load and a taken branch. */
#ifndef MEMATTACH_SAMPLER_H
#define MEMATTACH_SAMPLER_H

#include "agent_internal.h"
#include "memattach.pb-c.h"
#include MA_AGENT_ARCH_H

/* Out of line: the countdown reached zero (or the thread is new to this
 * session): redraw it, and record p when the set takes it. */
int ma_sample_take(struct ma_thread *t, uintptr_t p, size_t n) MA_HIDDEN __attribute__((noinline));
/* Removes p from the sampled set: 1 when it was there.  Out of line (LTO
 * would inline it, and then not the hooks' fast path around it). */
int ma_sample_forget(uintptr_t p) MA_HIDDEN __attribute__((noinline));
/* Puts p back (a realloc that failed after its old block was forgotten). */
void ma_sample_restore(uintptr_t p) MA_HIDDEN;
/* Session start (before tracking): set emptied, counts and seeds reset. */
void ma_sample_session_start(void) MA_HIDDEN;
/* Session end: the set's memory back to the kernel. */
void ma_sample_release(void) MA_HIDDEN;
/* In a fork child: the set's lock and count as if no change were under way. */
void ma_sample_forget_in_child(void) MA_HIDDEN;
/* Writer: ThreadCounts for the threads whose counts moved (threads lock
 * not held); whether a thread has counts not sent yet (under it). */
void ma_sample_emit_counts(void (*emit)(const void *rec, void *ctx)) MA_HIDDEN;
int ma_sample_unsent(const struct ma_thread *t) MA_HIDDEN;

/* The set's header (sampler.c), on one line: what every free reads.
 * zones: bit z set while some entry's home slot lies in the z-th 256th of
 * the table (z: the top 8 bits of the address's hash, whatever the
 * table's size), so that most frees read nothing but this line. */
struct ma_sample_set {
	atomic_uint version;         /* odd while the set changes */
	atomic_uint bits;            /* the table has 2^bits slots */
	_Atomic(_Atomic uint64_t *) table, homes;
	_Atomic uint64_t zones[4];
} __attribute__((aligned(64)));
extern MA_HIDDEN struct ma_sample_set ma_sample_set;

static inline uint64_t ma_sample_hash(uint64_t a)
{
	return a * 0x9e3779b97f4a7c15ull;
}

static inline size_t ma_sample_home(uint64_t a, unsigned bits)
{
	return (size_t)(ma_sample_hash(a) >> (64 - bits));
}

/* Lock-free, inline: 0 when a is certainly not in the set (no entry has
 * its home zone, or its home slot: the bitmap), as most frees find.  The
 * bitmap was a cache miss for a free after the program touched a lot of
 * memory (2% of a malloc-heavy run); the zones share the header's line. */
static inline __attribute__((always_inline)) int ma_sample_maybe(uint64_t a)
{
	struct ma_sample_set *s = &ma_sample_set;
	uint64_t x = ma_sample_hash(a);
	unsigned z = (unsigned)(x >> 56);
	/* A zone's bit does not depend on the table's size and stays set while
	 * an entry of it is live; a's own insert happened before its free (the
	 * program handed a on): a clear bit needs no consistent reading. */
	if (!((atomic_load_explicit(&s->zones[z >> 6], memory_order_relaxed) >> (z & 63)) & 1))
		return 0;
	/* The zone bit, once seen set, needs no second look: the home slot's
	 * bit below says the same for a's slot, read consistently. */
	for (;;) {
		unsigned v = atomic_load_explicit(&s->version, memory_order_acquire);
		if (!(v & 1)) {
			int maybe = 0;
			_Atomic uint64_t *homes = atomic_load_explicit(&s->homes, memory_order_relaxed);
			if (homes) {
				size_t h = (size_t)(x >> (64 - atomic_load_explicit(&s->bits, memory_order_relaxed)));
				maybe = (atomic_load_explicit(&homes[h >> 6], memory_order_relaxed) >> (h & 63)) & 1;
			}
			atomic_thread_fence(memory_order_acquire);
			if (atomic_load_explicit(&s->version, memory_order_relaxed) == v)
				return maybe;
		}
		MA_CPU_PAUSE();
	}
}

static inline void ma_sample_count(_Atomic uint64_t *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
			      memory_order_relaxed);
}

/* Whether an allocation of n bytes at p is recorded.  Counted exactly
 * either way. */
static inline int ma_sample_alloc(uint32_t kind, void *p, size_t n)
{
	if (__builtin_expect(!ma_cfg.sample, 1))
		return 1;
	struct ma_thread *t = ma_thread_self();
	if (!p || !t)
		return 0;
	ma_sample_count(&t->smp.allocs, 1);
	ma_sample_count(&t->smp.bytes, n);
	if (kind == MEMATTACH__EVENT_KIND__MMAP || kind == MEMATTACH__EVENT_KIND__MREMAP) {
		ma_clock_tick();   /* recorded: its time (ma_event_ns) */
		return 1;
	}
	if ((t->smp.left -= (int64_t)n) > 0)
		return 0;
	return ma_sample_take(t, (uintptr_t)p, n);
}

/* A free's first look, before the hook takes its guard: 1 when p is
 * certainly not sampled (the free counted: nothing more to do), 0 when
 * ma_sample_free is to decide (which counts it). */
static inline __attribute__((always_inline)) int ma_sample_free_unsampled(void *p)
{
	struct ma_thread *t = ma_tls.thr;
	if (!t || ma_sample_maybe((uintptr_t)p))
		return 0;
	ma_sample_count(&t->smp.frees, 1);
	return 1;
}

/* Whether the free of p is recorded: p was sampled (it leaves the set). */
static inline __attribute__((always_inline)) int ma_sample_free(void *p)
{
	if (__builtin_expect(!ma_cfg.sample, 1))
		return 1;
	struct ma_thread *t = ma_thread_self();
	if (t)
		ma_sample_count(&t->smp.frees, 1);
	return ma_sample_maybe((uintptr_t)p) && ma_sample_forget((uintptr_t)p);
}

#endif

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

/* Out of line: the countdown reached zero (or the thread is new to this
 * session): redraw it, and record p when the set takes it. */
int ma_sample_take(struct ma_thread *t, uintptr_t p, size_t n) MA_HIDDEN;
/* Removes p from the sampled set: 1 when it was there. */
int ma_sample_forget(uintptr_t p) MA_HIDDEN;
/* Puts p back (a realloc that failed after its old block was forgotten). */
void ma_sample_restore(uintptr_t p) MA_HIDDEN;
/* Session start (before tracking): set emptied, counts and seeds reset. */
void ma_sample_session_start(void) MA_HIDDEN;
/* Session end: the set's memory back to the kernel. */
void ma_sample_release(void) MA_HIDDEN;
/* Writer: ThreadCounts for the threads whose counts moved (threads lock
 * not held); whether a thread has counts not sent yet (under it). */
void ma_sample_emit_counts(void (*emit)(const void *rec, void *ctx)) MA_HIDDEN;
int ma_sample_unsent(const struct ma_thread *t) MA_HIDDEN;

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
	if (kind == MEMATTACH__EVENT_KIND__MMAP || kind == MEMATTACH__EVENT_KIND__MREMAP)
		return 1;
	if ((t->smp.left -= (int64_t)n) > 0)
		return 0;
	return ma_sample_take(t, (uintptr_t)p, n);
}

/* Whether the free of p is recorded: p was sampled (it leaves the set). */
static inline int ma_sample_free(void *p)
{
	if (__builtin_expect(!ma_cfg.sample, 1))
		return 1;
	struct ma_thread *t = ma_thread_self();
	if (t)
		ma_sample_count(&t->smp.frees, 1);
	return ma_sample_forget((uintptr_t)p);
}

#endif

/* stack_table.c — native stack capture and in-process deduplication.
 *
 * A lock-free open-addressing table of distinct stacks: lookups never take
 * a lock, an insert is one compare-and-swap.  Each distinct stack is handed
 * to the writer once (a push-only list the writer takes whole), so the
 * agent's memory grows with distinct stacks, never with events.
 *
 * Unwinding uses libunwind's unw_backtrace with per-thread caching: frame
 * pointers are not kept by Debian's libraries, so a frame-pointer walk
 * would stop or go wrong at the first libc or libstdc++ frame. */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "agent_internal.h"
#include "python/py_agent.h"
#include "unwind_cache.h"

/* The table is segments of 2^12, 2^13, ... 2^21 slots, one after the
 * other in one reservation (4M slots: 32 MiB of address space); new stacks
 * go into the newest until it is three quarters full, then into the next.
 * One table of 4M slots touched a page per stack for the first thousands
 * (a page fault each, 14 us on this project's VM: 579 of them, 1% of a
 * --sample run of the neutral bench). */
#define SEG0_BITS 12
#define SEGS 10
#define TABLE_SIZE ((1u << (SEG0_BITS + SEGS)) - (1u << SEG0_BITS))
#define SKIP_MAX 8

static _Atomic(struct ma_stack *) *table;
static _Atomic(struct ma_stack *) new_list;
static _Atomic(struct ma_stack *) all_list;
/* Ids are never reused, not even after a release: a thread that raced
 * the release may still hand one out. */
static _Atomic uint32_t next_id = 1;
static _Atomic unsigned seg_cur;        /* the newest segment */
static uint32_t used;                   /* stacks in it (stacks_lock) */
/* The stacks themselves; reset when the table is released.  Also held
 * for inserts: lookups take no lock. */
static pthread_mutex_t stacks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ma_scratch stacks_mem;
static _Atomic uint64_t dropped;
static uintptr_t agent_lo, agent_hi;

static int stacks_ready;

/* The table's address space (its pages are touched only when used); -1
 * when it cannot be mapped.  An attach reserves it in the start call, so
 * that a target without room fails the call with ENOMEM, which the CLI
 * explains (agent.c), rather than the agent's thread failing unseen. */
int ma_stacks_reserve(void)
{
	if (!table)
		table = ma_pages_alloc(sizeof(*table) * TABLE_SIZE);
	return table ? 0 : -1;
}

/* Gives back a table reserved by a start that failed (no session used it). */
void ma_stacks_unreserve(void)
{
	if (stacks_ready || !table)
		return;
	ma_pages_free((void *)table, sizeof(*table) * TABLE_SIZE);
	table = NULL;
}

int ma_stacks_init(void)
{
	if (stacks_ready)
		return 0;
	if (ma_stacks_reserve() < 0)
		return -1;
	stacks_ready = 1;
	ma_unwind_fds_redirect();   /* before libunwind opens its pipe */
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	ma_unwind_check = getenv("MEMATTACH_TEST_UNWIND_CHECK") != NULL;
	ma_py_init();
	return 0;
}

void ma_stacks_set_agent_range(uintptr_t lo, uintptr_t hi)
{
	agent_lo = lo;
	agent_hi = hi;
}

/* Under stacks_lock. */
static struct ma_stack *stack_new(const uint64_t *f, uint32_t n, uint64_t h)
{
	struct ma_stack *s = ma_scratch_alloc(&stacks_mem, sizeof(*s) + n * sizeof(uint64_t));
	if (!s)
		return NULL;
	s->hash = h;
	s->n = n;
	memcpy(s->frames, f, n * sizeof(uint64_t));
	s->id = atomic_fetch_add(&next_id, 1);
	return s;
}

static void publish(struct ma_stack *s)
{
	struct ma_stack *old = atomic_load(&new_list);
	do
		s->next_new = old;
	while (!atomic_compare_exchange_weak(&new_list, &old, s));
	old = atomic_load(&all_list);
	do
		s->next_all = old;
	while (!atomic_compare_exchange_weak(&all_list, &old, s));
}

static int same_stack(const struct ma_stack *s, const uint64_t *f, uint32_t n, uint64_t h)
{
	return s && s->hash == h && s->n == n && !memcmp(s->frames, f, n * sizeof(uint64_t));
}

static _Atomic(struct ma_stack *) *segment(unsigned k, uint32_t *mask)
{
	*mask = (1u << (SEG0_BITS + k)) - 1;
	return table + ((1u << (SEG0_BITS + k)) - (1u << SEG0_BITS));
}

/* The stack in segment k, or the empty slot that ends its run (*slot). */
static struct ma_stack *segment_find(unsigned k, const uint64_t *f, uint32_t n, uint64_t h,
				     uint32_t *slot)
{
	uint32_t mask;
	_Atomic(struct ma_stack *) *seg = segment(k, &mask);
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		struct ma_stack *s = atomic_load_explicit(&seg[i], memory_order_acquire);
		if (!s || same_stack(s, f, n, h)) {
			*slot = i;
			return s;
		}
	}
}

/* Lock-free: the newest segment first (it holds about half the stacks).
 * A stack is in one segment only: inserts look again under the lock. */
static struct ma_stack *table_find(const uint64_t *f, uint32_t n, uint64_t h)
{
	uint32_t slot;
	for (int k = (int)atomic_load_explicit(&seg_cur, memory_order_acquire); k >= 0; k--) {
		struct ma_stack *s = segment_find((unsigned)k, f, n, h, &slot);
		if (s)
			return s;
	}
	return NULL;
}

/* Under stacks_lock: f as a new stack, published to the writer before any
 * other thread can find it; NULL when the table is full or memory ran out. */
static struct ma_stack *table_insert(const uint64_t *f, uint32_t n, uint64_t h)
{
	unsigned k = atomic_load_explicit(&seg_cur, memory_order_relaxed);
	if (used + 1 > (3u << (SEG0_BITS + k)) / 4) {
		if (k + 1 >= SEGS) {
			atomic_fetch_add(&dropped, 1);
			return NULL;
		}
		atomic_store_explicit(&seg_cur, ++k, memory_order_release);
		used = 0;
	}
	struct ma_stack *s = stack_new(f, n, h);
	if (!s)
		return NULL;
	publish(s);
	uint32_t slot, mask;
	segment_find(k, f, n, h, &slot);
	atomic_store_explicit(&segment(k, &mask)[slot], s, memory_order_release);
	used++;
	return s;
}

/* The stack f[0..n), inserted when new; NULL when the table is full or
 * memory ran out. */
static struct ma_stack *stack_intern_h(const uint64_t *f, uint32_t n, uint64_t h)
{
	struct ma_stack *s = table_find(f, n, h);
	if (s)
		return s;
	pthread_mutex_lock(&stacks_lock);
	s = table_find(f, n, h);
	if (!s)
		s = table_insert(f, n, h);
	pthread_mutex_unlock(&stacks_lock);
	return s;
}

/* Unwinds into ips; returns the frames after the agent's own. */
static int backtrace_from_caller(void **ips, int max, int *first)
{
	ma_dl_read_lock(1);   /* libunwind walks the loader's list */
	int n = unw_backtrace(ips, max);
	ma_dl_read_lock(0);
	int f = 0;
	/* Drop the agent's own frames (the hook and what it called). */
	while (f < n && (uintptr_t)ips[f] >= agent_lo && (uintptr_t)ips[f] < agent_hi)
		f++;
	*first = f;
	return n - f;
}

#define THREAD_STACKS_BITS 11

/* The shared table's lines are cold (a random slot of 32 MiB, then the
 * stack itself: a cache miss each, a third of a native event's cost on
 * the neutral bench); a small per-thread table of recent stacks stands in
 * front of it, two ways a set (one cache line): direct-mapped, the
 * bench's 600 stacks in 1024 slots shared a slot for 45% of them. */
static struct ma_stack *intern_thread_cached_sum(const uint64_t *f, uint32_t n, uint64_t sum)
{
	uint64_t h = ma_hash_finish(sum, n);
	struct ma_thread *t = ma_thread_self();
	if (t && !t->stack_cache)
		t->stack_cache = ma_arena_alloc(sizeof(struct ma_stack *) << THREAD_STACKS_BITS);
	struct ma_stack **c = t ? t->stack_cache : NULL;
	struct ma_stack **set = c ? &c[h & ((1u << THREAD_STACKS_BITS) - 2)] : NULL;
	if (set && same_stack(set[0], f, n, h))
		return set[0];
	if (set && same_stack(set[1], f, n, h)) {
		struct ma_stack *s = set[1];   /* the most recent first */
		set[1] = set[0];
		set[0] = s;
		return s;
	}
	struct ma_stack *s = stack_intern_h(f, n, h);
	if (s && set) {
		set[1] = set[0];
		set[0] = s;
	}
	return s;
}

static struct ma_stack *intern_thread_cached(const uint64_t *f, uint32_t n)
{
	return intern_thread_cached_sum(f, n, ma_hash_stack_sum(f, n));
}

/* MEMATTACH_TEST_UNWIND_CHECK: a fast walk that differs from libunwind's. */
static void check_walk(const uint64_t *fast, int nf, void **ips, int n)
{
	static atomic_int said;
	int i = 0;
	while (i < nf && i < n && fast[i] == (uint64_t)(uintptr_t)ips[i])
		i++;
	if (i == nf && nf == n) {
		ma_warn(0, "unwind check: fast walks agree with libunwind");
		return;
	}
	if (atomic_fetch_add(&said, 1) < 8)
		ma_warn(0, "unwind check: fast walk differs from libunwind at frame %d of %d/%d (%#lx vs %#lx)",
			i, nf, n, i < nf ? (unsigned long)fast[i] : 0ul,
			i < n ? (unsigned long)(uintptr_t)ips[i] : 0ul);
}

/* MEMATTACH_TEST_UNWIND_CHECK: a stack id the walk kept for frames it
 * found unchanged must be the id of those frames. */
static void check_reused_id(const uint64_t *f, uint32_t n, uint32_t id)
{
	static atomic_int said;
	struct ma_stack *s = intern_thread_cached(f, n);
	if (s && s->id != id && atomic_fetch_add(&said, 1) < 8)
		ma_warn(0, "unwind check: a reused stack id differs from its frames' (%u vs %u)", id,
			s->id);
}

/* The user's frames, at most max: the fast walk (unwind_cache.c), else
 * libunwind's; *same when they are the previous walk's. */
static int user_frames(void **ips, int max, const uint64_t **fr, int *same, uintptr_t hook_fp,
		       int lazy, int *walked, const struct ma_unwind_stop *stop)
{
	int n = ma_unwind_user(fr, max, agent_lo, agent_hi, same, hook_fp, lazy && !ma_unwind_check,
			       stop);
	*walked = n >= 0;
	if (n >= 0 && !ma_unwind_check)
		return n;
	int first, m = backtrace_from_caller(ips, max + SKIP_MAX, &first);
	if (m > max)
		m = max;
	for (int i = 0; stop && i < m; i++)
		if (ma_unwind_stop_at(stop->lo, stop->hi, (uintptr_t)ips[first + i])) {
			m = i + 1;
			break;
		}
	if (n >= 0) {
		check_walk(*fr, n, ips + first, m);
		return n;
	}
	ma_unwind_set_last_id(0, 0);
	*same = 0;
	*fr = (const uint64_t *)(ips + first);
	return m;
}

/* A native stack merged with the thread's Python frames: 0 when none of
 * them is Python's, else 1 and *id.  The native walk's kept id serves when
 * the native frames and the Python ones (their tag) are those it was
 * found for. */
static int merged_id(const struct ma_py_merging *pm, const uint64_t *fr, uint32_t n, int same,
		     uint64_t *merged, uint32_t cap, uint32_t *id)
{
	uint32_t known = same && pm->tag ? ma_unwind_last_id(pm->tag) : 0;
	if (known && !ma_unwind_check) {
		*id = known;
		return 1;
	}
	uint64_t sum;
	int summed;
	uint32_t m = ma_py_merge(pm, fr, n, merged, cap, &sum, &summed);
	if (!m)
		return 0;
	if (ma_unwind_check && summed && sum != ma_hash_stack_sum(merged, m))
		ma_warn(0, "unwind check: a merged stack's kept hash sum differs from its frames'");
	if (known) {
		check_reused_id(merged, m, known);
		*id = known;
		return 1;
	}
	struct ma_stack *s = summed ? intern_thread_cached_sum(merged, m, sum)
				    : intern_thread_cached(merged, m);
	*id = s ? s->id : 0;
	ma_unwind_set_last_id(pm->tag ? *id : 0, pm->tag);
	return 1;
}

uint32_t ma_stack_capture(void)
{
	return ma_stack_capture_at(0);
}

uint32_t ma_stack_capture_at(uintptr_t hook_fp)
{
	void *ips[MA_MAX_DEPTH + SKIP_MAX];
	uint64_t merged[MA_MAX_DEPTH + MA_PY_MAX_FRAMES];
	unsigned depth = ma_cfg.depth;
	int n;

	/* Python's native stacks are deep (several frames per Python call)
	 * and the Python view shows only what lies below the innermost eval
	 * frame: the walk stops there, and the Python frames tell the rest. */
	const uint64_t *fr;
	int same = 0, walked, py = ma_py_active; /* read once: with no Python, fr may stay NULL */
	struct ma_unwind_stop eval, *stop = NULL;
	if (py && !ma_cfg.pynative) {
		ma_py_eval_range(&eval.lo, &eval.hi);
		stop = &eval;
	}
	n = user_frames(ips, (int)depth, &fr, &same, hook_fp, !py, &walked, stop);
	if (n <= 0)
		return 0;
	struct ma_py_merging pm;
	uint32_t id;
	if (py && ma_py_merge_prepare(&pm) &&
	    merged_id(&pm, fr, (uint32_t)n, same, merged, depth + MA_PY_MAX_FRAMES, &id))
		return id;
	id = same ? ma_unwind_last_id(0) : 0;
	if (id && ma_unwind_check)
		check_reused_id(fr, (uint32_t)n, id);
	if (!id) {
		if (!fr)
			fr = ma_unwind_frames();
		/* The fast walk kept its frames' hash terms summed. */
		struct ma_stack *s = walked ? intern_thread_cached_sum(fr, (uint32_t)n, ma_unwind_hash_sum())
					    : intern_thread_cached(fr, (uint32_t)n);
		id = s ? s->id : 0;
		ma_unwind_set_last_id(id, 0);
	}
	return id;
}

/* PyMem domain allocations, the most frequent events of a Python process:
 * the Python frames alone (the native frames under them are the
 * interpreter's own), unless full native stacks were asked for or the
 * thread runs no Python.  A small per-thread table of recent stacks stands
 * in front of the shared one, whose lines are cold. */
uint32_t ma_stack_capture_py(int gil)
{
	uint64_t f[MA_PY_MAX_FRAMES];
	struct ma_py_known known;
	uint32_t n;
	if (ma_cfg.pynative)
		return ma_stack_capture();
	n = ma_py_frames(f, MA_PY_MAX_FRAMES, gil, &known);
	if (n == MA_PY_KNOWN)
		return known.stack;
	if (!n)
		return ma_stack_capture();
	struct ma_stack *s = intern_thread_cached(f, n);
	if (!s)
		return 0;
	ma_py_known_set(&known, s->id);
	return s->id;
}

struct ma_stack *ma_stacks_take_new(void)
{
	struct ma_stack *l = atomic_exchange(&new_list, NULL), *r = NULL;
	while (l) {   /* reverse: oldest first */
		struct ma_stack *n = l->next_new;
		l->next_new = r;
		r = l;
		l = n;
	}
	return r;
}

struct ma_stack *ma_stacks_all(void)
{
	return atomic_load(&all_list);
}

uint64_t ma_stacks_dropped(void)
{
	return atomic_load(&dropped);
}

/* After a session, with no thread inside a hook (ma_threads_quiesce held):
 * the table's pages go back to the kernel (the mapping stays, reading as
 * empty), the stacks' memory is handed out again from the start, and the
 * threads' caches of stacks are emptied.  Ids go on from where they were;
 * the Python walks' caches of stack ids are dropped by moving the code
 * epoch.  With 2048 distinct stacks the table alone kept 7 MiB. */
void ma_stacks_release(void)
{
	if (!table)
		return;
	ma_unwind_forget();
	madvise((void *)table, sizeof(*table) * TABLE_SIZE, MADV_DONTNEED);
	atomic_store(&new_list, NULL);
	atomic_store(&all_list, NULL);
	pthread_mutex_lock(&stacks_lock);
	atomic_store(&seg_cur, 0);
	used = 0;
	ma_scratch_release(&stacks_mem);
	pthread_mutex_unlock(&stacks_lock);
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next)
		if (t->stack_cache)
			memset(t->stack_cache, 0, sizeof(struct ma_stack *) << THREAD_STACKS_BITS);
	atomic_fetch_add(&ma_py_code_epoch, 1);
}

/* A thread record handed to a new thread keeps its cache of stacks: one
 * from before a release must not be trusted. */
void ma_stack_cache_clear(void *cache)
{
	if (cache)
		memset(cache, 0, sizeof(struct ma_stack *) << THREAD_STACKS_BITS);
}

/* fork_follow.c: held around a followed fork. */
void ma_stacks_fork_lock(int take)
{
	if (take)
		pthread_mutex_lock(&stacks_lock);
	else
		pthread_mutex_unlock(&stacks_lock);
}

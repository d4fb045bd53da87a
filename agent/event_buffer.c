/* event_buffer.c — thread-local event batches and their bounded pool.
 *
 * Each thread appends to its own buffer; the writer takes partial ones
 * away in its sweeps.  The two meet in a Dekker handshake, cheap on the
 * owner's side: the owner sets busy, takes the global seq with a locked
 * add (which also makes busy visible) and reads sweep; the writer sets
 * sweep with a locked exchange and waits for busy to drop.  One of them
 * always sees the other, so the writer never takes a buffer that is being
 * written, and an owner that sees a sweep steps back, leaving its seq in
 * pending.  That is what makes the writer's watermark true: once the
 * writer has swept a thread, every seq the thread took earlier is in a
 * buffer the writer holds or still pending.  (The locked add as a fence
 * is x86-64's ordering, the only architecture the agent supports.)
 * Full buffers go to a FIFO for the writer.  The pool is bounded: when the
 * writer (i.e. the CLI) is slower than the threads, they wait for a free
 * buffer — back-pressure instead of unbounded memory — up to the stall
 * limit; past it events are dropped and counted (pool_get, lose). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agent_internal.h"
#include "sampler.h"
#include MA_AGENT_ARCH_H
#include "unwind_cache.h"

#define POOL_BASE 32
#define POOL_PER_THREAD 2
#define POOL_MAX 1024

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static struct ma_buf *pool_free;
static struct ma_buf *full_head, *full_tail;
static unsigned full_len;
#define WAKE_AT 8                /* full batches queued */
static unsigned pool_allocated, pool_budget = POOL_BASE;
static int notify_fd = -1;

/* tests/agent/test_event_buffer.c runs an owner where the writer's cycle
 * is most exposed to one: between the sweep and the taking of the queue. */
#ifdef MA_TEST_HOOKS
void ma_test_after_sweep(void);
#define AFTER_SWEEP() ma_test_after_sweep()
#else
#define AFTER_SWEEP() ((void)0)
#endif

/* The batch's lines are the writer's when it is handed out (it read them
 * to pack the batch before): every store to a new line waited for the line
 * to come back, and the next event's locked add for those stores (10% of a
 * depth-50 run's target CPU).  The owner asks for the lines of the events
 * PREFETCH_AHEAD further on in time, 8 events (a line of 8-byte values) at
 * a time.  Read prefetches do not help: the line must be owned. */
#define PREFETCH_AHEAD 64
static atomic_int prefetch_write_ok = -1;   /* -1: the CPU not asked yet */

static inline void prefetch_events(const struct ma_buf *b, uint32_t i)
{
	ma_prefetch_write(&b->seq_kind[i]);
	ma_prefetch_write(&b->addr[i]);
	ma_prefetch_write(&b->size[i]);
	ma_prefetch_write(&b->stack[i]);
}

/* A batch just handed to its owner (every batch passes here before its
 * first event): its first lines at once. */
static void prefetch_batch_start(const struct ma_buf *b)
{
	int ok = atomic_load_explicit(&prefetch_write_ok, memory_order_relaxed);
	if (ok < 0) {
		ok = ma_cpu_has_prefetch_write();
		atomic_store_explicit(&prefetch_write_ok, ok, memory_order_relaxed);
	}
	if (ok)
		for (uint32_t i = 0; i < PREFETCH_AHEAD; i += 8)
			prefetch_events(b, i);
}

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ma_thread *threads_head;
static struct ma_thread *threads_spare;

int ma_buffers_set_notify_fd(int fd)
{
	notify_fd = fd;
	return 0;
}

static void notify_writer(void)
{
	if (notify_fd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(notify_fd, &one, sizeof(one));
		(void)r;
	}
}

/* Waits for the other side of the handshake to clear its flag: it holds
 * it for a few stores, or is descheduled. */
static void wait_clear(atomic_int *flag)
{
	unsigned spins = 0;
	while (atomic_load_explicit(flag, memory_order_acquire))
		if (++spins > 200)
			sched_yield();
		else
			MA_CPU_PAUSE();
}

atomic_int ma_stalled;
/* Past the stall limit with the pool still dry: threads drop their events
 * at once instead of waiting, until the writer hands batches back. */
static atomic_int pool_dropping;

/* A free batch, waiting while the pool is exhausted and tracking goes on —
 * for at most the stall limit (ma_cfg.stall_ns): a CLI that stops reading
 * (stopped, hung) must not hold the target.  Past it the pool drops
 * (NULL at once for every thread until batches come back), or with
 * stall_end tracking ends and the writer drops the session.  NULL: the
 * event cannot be kept (pool dropping, no memory, tracking ended). */
static struct ma_buf *pool_get(void)
{
	struct ma_buf *b = NULL;
	uint64_t deadline = 0;
	if (atomic_load_explicit(&pool_dropping, memory_order_relaxed))
		return NULL;
	pthread_mutex_lock(&pool_lock);
	for (;;) {
		if (pool_free) {
			b = pool_free;
			pool_free = b->next;
			break;
		}
		if (pool_allocated < pool_budget && atomic_load(&ma_tracking)) {
			b = ma_pages_alloc(sizeof(*b));
			if (b)
				pool_allocated++;
			break;
		}
		if (!atomic_load(&ma_tracking) || atomic_load(&pool_dropping))
			break;
		if (!deadline) {
			deadline = ma_now_ns() + ma_cfg.stall_ns;
			notify_writer();   /* it may be waiting for its timer */
		}
		struct timespec ts = { (time_t)(deadline / 1000000000u), (long)(deadline % 1000000000u) };
		if (pthread_cond_clockwait(&pool_cond, &pool_lock, CLOCK_MONOTONIC, &ts) == ETIMEDOUT) {
			if (ma_cfg.stall_end) {
				atomic_store(&ma_tracking, 0);
				atomic_store(&ma_stalled, 1);
			} else {
				atomic_store(&pool_dropping, 1);
			}
			pthread_cond_broadcast(&pool_cond);   /* the others stop waiting too */
			break;
		}
	}
	pthread_mutex_unlock(&pool_lock);
	if (b) {
		b->next = NULL;
		b->n = b->nmarks = 0;
		b->last_time = 0;
	}
	return b;
}

void ma_lost_merge(struct ma_lost *a, const struct ma_lost *b)
{
	if (!(b->allocs | b->frees))
		return;
	if (!(a->allocs | a->frees)) {
		a->first_ns = b->first_ns;
		a->first_seq = b->first_seq;
	}
	a->allocs += b->allocs;
	a->alloc_bytes += b->alloc_bytes;
	a->frees += b->frees;
	a->free_bytes += b->free_bytes;
	a->last_ns = b->last_ns;
	a->last_seq = b->last_seq;
}

/* The first seq of the tracking session.  An owner drops busy while it
 * waits (for a sweep to end, for a batch) and a realloc holds its free's
 * seq reserved: either can outlast the session, the gap and the start of
 * the next one.  Its seq then belongs to the ended session, where it was
 * not recorded; the new session must not get it. */
static _Atomic uint64_t session_first;

uint64_t ma_buffers_session_start(void)
{
	uint64_t s = atomic_load(&ma_seq);
	atomic_store(&session_first, s);
	return s;
}

/* Whether an event with seq s may still be kept (busy held). */
static int seq_in_session(uint64_t s)
{
	return atomic_load_explicit(&ma_tracking, memory_order_acquire) &&
	       s >= atomic_load_explicit(&session_first, memory_order_relaxed);
}

/* An event that could not be kept, while tracking goes on, is counted:
 * with busy held, so that a sweep sees the count, or the seq still
 * pending — the watermark stays true, and what the writer sends as lost
 * is exact.  (Kinds below 32 allocate; a free's size is known only for
 * munmap and mremap.) */
static void lose(struct ma_thread *t, uint64_t seq, uint32_t kind, uint64_t size)
{
	atomic_exchange_explicit(&t->busy, 1, memory_order_seq_cst);
	while (atomic_load_explicit(&t->sweep, memory_order_relaxed)) {
		atomic_store_explicit(&t->busy, 0, memory_order_release);
		wait_clear(&t->sweep);
		atomic_exchange_explicit(&t->busy, 1, memory_order_seq_cst);
	}
	if (seq_in_session(seq)) {
		struct ma_lost one = { 0, 0, 0, 0, ma_event_ns(), 0, seq, seq };
		one.last_ns = one.first_ns;
		if (kind < 32) {
			one.allocs = 1;
			one.alloc_bytes = size;
		} else {
			one.frees = 1;
			one.free_bytes = size;
		}
		ma_lost_merge(&t->lost, &one);
	}
	atomic_store_explicit(&t->pending, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&t->busy, 0, memory_order_release);
}

/* Queues a full batch; nonzero when the writer is to be woken (by
 * notify_writer).  It wakes every millisecond while events flow anyway,
 * so only a queue that grows long calls for it: a system call and a
 * wake-up per batch cost a fast-allocating thread 5-10%. */
static int queue_full_quiet(struct ma_buf *b)
{
	pthread_mutex_lock(&pool_lock);
	b->next = NULL;
	if (full_tail)
		full_tail->next = b;
	else
		full_head = b;
	full_tail = b;
	int wake = ++full_len == WAKE_AT;
	pthread_mutex_unlock(&pool_lock);
	return wake;
}

static void queue_full(struct ma_buf *b)
{
	if (queue_full_quiet(b))
		notify_writer();
}

static struct ma_thread *thread_attach(void)
{
	struct ma_thread *t;
	pthread_mutex_lock(&threads_lock);
	t = threads_spare;
	if (t)
		threads_spare = t->next;
	pthread_mutex_unlock(&threads_lock);
	if (!t)
		t = ma_arena_alloc(sizeof(*t));
	if (!t)
		return NULL;
	void *keep = t->py_cache, *keep2 = t->stack_cache;   /* a recycled record keeps its caches */
	void *keep3 = t->unwind;
	memset(t, 0, sizeof(*t));
	t->py_cache = keep;
	t->stack_cache = keep2;
	t->unwind = keep3;
	ma_unwind_thread_reset(keep3);   /* its walk was on another thread's stack */
	ma_stack_cache_clear(keep2);   /* its stacks may have been released */
	t->pending = UINT64_MAX;
	t->tid = (uint32_t)ma_gettid();
	t->self = (unsigned long)pthread_self();
	ma_lineage_of_self(&t->parent_tid, &t->born_seq);
	pthread_mutex_lock(&threads_lock);
	t->next = threads_head;
	threads_head = t;
	pthread_mutex_lock(&pool_lock);
	if (pool_budget < POOL_MAX)
		pool_budget += POOL_PER_THREAD;
	pthread_mutex_unlock(&pool_lock);
	pthread_mutex_unlock(&threads_lock);
	ma_tls.thr = t;
	return t;
}

struct ma_thread *ma_thread_attach(void)
{
	return ma_tls.thr ? ma_tls.thr : thread_attach();
}

/* The owner's side of the handshake with the writer (see the top of the
 * file).  Call with busy set and the store made visible (a locked
 * instruction since); returns with busy set and the writer not sweeping
 * this thread, or 0 with busy clear once the event's session is over.
 * s is the seq the event will carry, kept pending while busy is dropped.
 * An event dropped is tested first: a sweep of the next session must not
 * see a seq of the last one pending (its watermark would go back). */
static int enter_slow(struct ma_thread *t, uint64_t s, uint32_t kind, uint64_t size)
{
	struct ma_buf *spare = NULL;   /* got while busy was down */
	for (;;) {
		if (!seq_in_session(s)) {
			atomic_store_explicit(&t->pending, UINT64_MAX, memory_order_relaxed);
			atomic_store_explicit(&t->busy, 0, memory_order_release);
			if (spare)
				ma_buffers_release(spare);
			return 0;
		}
		if (atomic_load_explicit(&t->sweep, memory_order_relaxed)) {
			atomic_store_explicit(&t->pending, s, memory_order_relaxed);
			atomic_store_explicit(&t->busy, 0, memory_order_release);
			wait_clear(&t->sweep);
			atomic_exchange_explicit(&t->busy, 1, memory_order_seq_cst);
			continue;
		}
		if (!t->cur && spare) {
			t->cur = spare;
			spare = NULL;
			prefetch_batch_start(t->cur);
		}
		if (t->cur) {
			if (spare)
				ma_buffers_release(spare);
			return 1;
		}
		/* No batch: get one with busy down (the pool may make us wait). */
		atomic_store_explicit(&t->pending, s, memory_order_relaxed);
		atomic_store_explicit(&t->busy, 0, memory_order_release);
		spare = pool_get();
		if (!spare) {
			lose(t, s, kind, size);
			return 0;
		}
		spare->tid = t->tid;
		atomic_exchange_explicit(&t->busy, 1, memory_order_seq_cst);
	}
}

/* Appends to the owner's buffer (busy held, writer away), then leaves.
 * Inlined: a call's own work was a fifth of it. */
static inline __attribute__((always_inline)) void append_leave(struct ma_thread *t, uint64_t seq,
							       uint32_t kind, uint64_t addr,
							       uint64_t size, uint32_t stack)
{
	struct ma_buf *b = t->cur;
	uint32_t i = b->n;
	uint64_t now = ma_event_ns();
	if (now != b->last_time) {
		uint32_t k = b->nmarks++;
		b->mark_at[k] = i;
		b->mark_time[k] = now;
		b->last_time = now;
	}
	if ((i & 7) == 0 && i + PREFETCH_AHEAD < MA_BATCH_EVENTS &&
	    atomic_load_explicit(&prefetch_write_ok, memory_order_relaxed) > 0)
		prefetch_events(b, i + PREFETCH_AHEAD);
	b->seq_kind[i] = MA_SEQ_KIND(seq, kind);
	b->addr[i] = addr;
	b->size[i] = size;
	b->stack[i] = stack;
	b->n = i + 1;
	int wake = 0;
	if (i + 1 == MA_BATCH_EVENTS) {
		/* queued before busy drops (a sweep in between would miss it);
		 * the writer woken after (no system call while busy) */
		t->cur = NULL;
		wake = queue_full_quiet(b);
	}
	if (atomic_load_explicit(&t->pending, memory_order_relaxed) != UINT64_MAX)
		atomic_store_explicit(&t->pending, UINT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&t->busy, 0, memory_order_release);
	if (wake)
		notify_writer();
}

static inline struct ma_thread *self(void)
{
	return ma_thread_self();
}

void ma_record(uint32_t kind, uint64_t addr, uint64_t size, uint32_t stack)
{
	struct ma_thread *t = self();
	if (!t)
		return;
	/* busy, then the seq: the locked add makes busy visible before
	 * sweep is read (x86-64 orders a store before a later locked
	 * instruction; the signal fence keeps the compiler from moving it). */
	atomic_store_explicit(&t->busy, 1, memory_order_relaxed);
	MA_FENCE_STORE_LOCKED();
	uint64_t s = atomic_fetch_add_explicit(&ma_seq, 1, memory_order_seq_cst);
	if (__builtin_expect(atomic_load_explicit(&t->sweep, memory_order_relaxed) ||
			     !atomic_load_explicit(&ma_tracking, memory_order_relaxed) || !t->cur, 0) &&
	    !enter_slow(t, s, kind, size))
		return;
	append_leave(t, s, kind, addr, size, stack);
}

/* realloc and mremap release the old block inside the real call, so their
 * "free" must be sequenced before it although it is only known after it
 * whether anything was released.  The seq is reserved first; until it is
 * used or abandoned the writer's watermark stays below it. */
uint64_t ma_seq_reserve(void)
{
	struct ma_thread *t = self();
	if (!t || !atomic_load_explicit(&ma_tracking, memory_order_relaxed))
		return UINT64_MAX;
	atomic_store_explicit(&t->busy, 1, memory_order_relaxed);
	MA_FENCE_STORE_LOCKED();
	uint64_t s = atomic_fetch_add_explicit(&ma_seq, 1, memory_order_seq_cst);
	/* a sweep either waits for busy to drop, and then sees pending, or
	 * read busy before it was set, and then began before s was taken */
	atomic_store_explicit(&t->pending, s, memory_order_relaxed);
	atomic_store_explicit(&t->busy, 0, memory_order_release);
	return s;
}

void ma_record_reserved(uint64_t seq, uint32_t kind, uint64_t addr, uint64_t size)
{
	if (seq == UINT64_MAX)
		return;
	struct ma_thread *t = self();
	if (!t)
		return;
	atomic_exchange_explicit(&t->busy, 1, memory_order_seq_cst);
	if (!enter_slow(t, seq, kind, size))
		return;
	append_leave(t, seq, kind, addr, size, 0);
}

void ma_seq_abandon(uint64_t seq)
{
	struct ma_thread *t = ma_tls.thr;
	if (seq == UINT64_MAX || !t)
		return;
	atomic_store_explicit(&t->pending, UINT64_MAX, memory_order_release);
}

/* The writer's side: announces the sweep, waits for the owner to be out
 * of its append; the owner stays out until sweep_end. */
static void sweep_begin(struct ma_thread *t)
{
	atomic_exchange_explicit(&t->sweep, 1, memory_order_seq_cst);
	wait_clear(&t->busy);
}

static void sweep_end(struct ma_thread *t)
{
	atomic_store_explicit(&t->sweep, 0, memory_order_release);
}

struct ma_buf *ma_buffers_take_full(void)
{
	pthread_mutex_lock(&pool_lock);
	struct ma_buf *l = full_head;
	full_head = full_tail = NULL;
	full_len = 0;
	pthread_mutex_unlock(&pool_lock);
	return l;
}

/* Under sweep: the owner's lost count moves to the writer's side. */
static void take_lost(struct ma_thread *t)
{
	ma_lost_merge(&t->lost_taken, &t->lost);
	memset(&t->lost, 0, sizeof(t->lost));
}

static int has_lost(const struct ma_thread *t)
{
	return (t->lost_taken.allocs | t->lost_taken.frees) != 0;
}

/* A thread's partial batch is queued behind its full ones under the
 * handshake, and the whole queue is taken after every thread is swept:
 * each thread's batches come out in its order.  (Taken apart, a batch the
 * owner filled between the sweep and the taking came before its older
 * partial one: 3-13 events out of order under load.) */
struct ma_buf *ma_buffers_sweep(uint64_t *min_pending)
{
	uint64_t minp = UINT64_MAX;
	pthread_mutex_lock(&threads_lock);
	for (struct ma_thread *t = threads_head; t; t = t->next) {
		sweep_begin(t);
		uint64_t pend = atomic_load_explicit(&t->pending, memory_order_relaxed);
		if (pend < minp)
			minp = pend;
		struct ma_buf *b = t->cur;
		if (b && b->n) {
			t->cur = NULL;
			queue_full_quiet(b);   /* the writer is the caller */
		}
		take_lost(t);
		sweep_end(t);
	}
	pthread_mutex_unlock(&threads_lock);
	AFTER_SWEEP();
	if (min_pending)
		*min_pending = minp;
	return ma_buffers_take_full();
}

void ma_buffers_release(struct ma_buf *list)
{
	if (!list)
		return;
	pthread_mutex_lock(&pool_lock);
	while (list) {
		struct ma_buf *n = list->next;
		list->next = pool_free;
		list->n = list->nmarks = 0;
		list->last_time = 0;
		pool_free = list;
		list = n;
	}
	atomic_store(&pool_dropping, 0);   /* the CLI reads again */
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

void ma_buffers_wake_all(void)
{
	pthread_mutex_lock(&pool_lock);
	pthread_cond_broadcast(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

/* Drops what is buffered (after the session ended) so that a later
 * session starts clean; threads keep their registration, not their
 * batches (an empty one included: the sweep handshake makes taking it
 * safe), and every batch then free goes back to the kernel.  A thread
 * still in a hook meanwhile finds tracking off and keeps out (enter_slow);
 * a batch it held in hand goes to the pool and waits for the next one. */
void ma_buffers_reset(void)
{
	ma_buffers_release(ma_buffers_take_full());
	ma_buffers_release(ma_buffers_sweep(NULL));
	pthread_mutex_lock(&threads_lock);
	for (struct ma_thread *t = threads_head; t; t = t->next) {
		t->announced = 0;
		sweep_begin(t);
		memset(&t->lost, 0, sizeof(t->lost));
		memset(&t->lost_taken, 0, sizeof(t->lost_taken));
		struct ma_buf *b = t->cur;
		t->cur = NULL;
		/* a seq still reserved is the ended session's (seq_in_session) */
		atomic_store_explicit(&t->pending, UINT64_MAX, memory_order_relaxed);
		sweep_end(t);
		if (b) {
			b->next = NULL;
			ma_buffers_release(b);
		}
	}
	pthread_mutex_unlock(&threads_lock);
	pthread_mutex_lock(&pool_lock);
	while (pool_free) {
		struct ma_buf *b = pool_free;
		pool_free = b->next;
		ma_pages_free(b, sizeof(*b));
		pool_allocated--;
	}
	pthread_mutex_unlock(&pool_lock);
}

/* membarrier makes every running thread's earlier stores visible (a full
 * fence in each) so that the hooks' side of ma_enter needs none. */
static int membarrier_ready(void)
{
	static int ok = -1;
	if (ok < 0)
		ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
	return ok;
}

#define QUIESCE_WAIT_NS 100000000ull

int ma_threads_quiesce(void)
{
	if (!membarrier_ready() ||
	    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		return -1;
	uint64_t end = ma_now_ns() + QUIESCE_WAIT_NS;
	pthread_mutex_lock(&threads_lock);
	for (struct ma_thread *t = threads_head; t; t = t->next)
		while (atomic_load_explicit(&t->inside, memory_order_acquire)) {
			if (ma_now_ns() > end) {
				pthread_mutex_unlock(&threads_lock);
				return -1;
			}
			sched_yield();
		}
	return 0;
}

void ma_threads_lock(void) { pthread_mutex_lock(&threads_lock); }
void ma_threads_unlock(void) { pthread_mutex_unlock(&threads_lock); }
struct ma_thread *ma_threads_first(void) { return threads_head; }

/* A thread that has exited leaves its registration behind (we keep no
 * destructor in the target's threads); reclaim those whose tid is gone.
 * Their last partial buffer was already taken by a sweep. */
void ma_threads_reap(void)
{
	pid_t pid = getpid();
	pthread_mutex_lock(&threads_lock);
	struct ma_thread **pp = &threads_head;
	while (*pp) {
		struct ma_thread *t = *pp;
		if (syscall(SYS_tgkill, pid, t->tid, 0) < 0 && errno == ESRCH) {
			sweep_begin(t);
			struct ma_buf *b = t->cur;
			t->cur = NULL;
			take_lost(t);
			sweep_end(t);
			if (b && b->n)
				queue_full(b);
			else if (b)
				ma_buffers_release(b);
			/* A thread born and gone since this cycle's announcements is
			 * announced by the next one (its name, or it had none) */
			if (has_lost(t) || ma_sample_unsent(t) || !t->announced) {   /* sent by the next cycle, then reaped */
				pp = &t->next;
				continue;
			}
			*pp = t->next;
			t->next = threads_spare;
			threads_spare = t;
			pthread_mutex_lock(&pool_lock);
			if (pool_budget > POOL_BASE)
				pool_budget -= POOL_PER_THREAD;
			pthread_mutex_unlock(&pool_lock);
			continue;
		}
		pp = &t->next;
	}
	pthread_mutex_unlock(&threads_lock);
}

static atomic_int names_dirty;
void ma_threads_names_dirty(void) { atomic_store(&names_dirty, 1); }
int ma_threads_take_names_dirty(void) { return atomic_exchange(&names_dirty, 0); }

/* fork_follow.c: around a followed fork (threads before pool, as above). */
void ma_buffers_fork_lock(int take)
{
	if (take) {
		pthread_mutex_lock(&threads_lock);
		pthread_mutex_lock(&pool_lock);
	} else {
		pthread_mutex_unlock(&pool_lock);
		pthread_mutex_unlock(&threads_lock);
	}
}

/* A record left as the parent's thread had it (busy, a sweep, a batch of
 * the parent's events) made clean for the child. */
static void forget_record(struct ma_thread *t)
{
	atomic_store(&t->busy, 0);
	atomic_store(&t->sweep, 0);
	atomic_store(&t->inside, 0);
	atomic_store(&t->pending, UINT64_MAX);
	memset(&t->lost, 0, sizeof(t->lost));
	memset(&t->lost_taken, 0, sizeof(t->lost_taken));
	t->announced = 0;
	if (t->cur) {
		t->cur->next = pool_free;
		pool_free = t->cur;
		t->cur = NULL;
	}
}

/* In a followed child, locks held (ma_buffers_fork_lock): only the thread
 * that forked exists, under its new tid; the events batched before the
 * fork are the parent's, which sends them itself. */
void ma_buffers_forget_in_child(void)
{
	struct ma_thread *me = ma_tls.thr, *t, *next;
	while (full_head) {
		struct ma_buf *b = full_head;
		full_head = b->next;
		b->next = pool_free;
		pool_free = b;
	}
	full_tail = NULL;
	full_len = 0;
	for (t = threads_head; t; t = next) {
		next = t->next;
		forget_record(t);
		if (t != me) {
			t->next = threads_spare;
			threads_spare = t;
		}
	}
	threads_head = me;
	pool_budget = POOL_BASE;
	if (me) {
		me->next = NULL;
		me->tid = (uint32_t)ma_gettid();
		me->self = (unsigned long)pthread_self();
		pool_budget += POOL_PER_THREAD;
	}
	/* the batches the parent's writer held at the fork are not the
	 * child's: counted, they could leave it at its (smaller) budget with
	 * none free, every event then waiting out the stall limit */
	pool_allocated = 0;
	for (struct ma_buf *b = pool_free; b; b = b->next) {
		b->n = b->nmarks = 0;
		pool_allocated++;
	}
	atomic_store(&pool_dropping, 0);
	atomic_store(&ma_stalled, 0);
	/* Threads of the parent that waited for a batch are counted in the
	 * condition's state: a broadcast here would wait for them to leave
	 * it, forever (a followed child's writer was seen so). */
	pthread_cond_init(&pool_cond, NULL);
	notify_fd = -1;
}

/* thread_lineage.c — which thread started which, for the Python
 * Tracker(threads="current"): it owns the thread that opened it and the
 * threads that one starts.  pthread_create is hooked; the new thread runs
 * a trampoline that notes its creator's tid and the seq current at the
 * create call before the program's start routine, and makes its thread
 * record at once, so that its ThreadInfo carries them (parent_tid,
 * born_seq) even if it never allocates (its own children still name it).
 * The receiver decides from them which trackers own a thread: nothing is
 * added to the per-event path.
 *
 * The block handed to the trampoline comes from a static pool, not the
 * program's malloc: freed by the new thread, a malloc'ed block went into
 * that thread's tcache and its next small allocation came from the
 * creator's arena, shifting the new thread's whole heap by one chunk (on
 * bench/neutral that changed glibc's trims: 3.6x the page faults of the
 * untracked run, in exact and sampled mode alike).  A slot is claimed and
 * released with one atomic each (no lock: fork-safe); past POOL pending
 * starts, malloc as before. */
#include <errno.h>
#include "agent_internal.h"

ma_pthread_create_fn ma_real_pthread_create;

struct lineage {
	uint32_t parent_tid;
	uint64_t born_seq;
};
static __thread struct lineage self_lineage __attribute__((tls_model("initial-exec")));

struct start {
	void *(*fn)(void *);
	void *arg;
	struct lineage from;
};

#define POOL 64
static struct start pool[POOL];
static _Atomic uint64_t pool_used;   /* bit i: pool[i] claimed */

static struct start *start_alloc(void)
{
	uint64_t u = atomic_load_explicit(&pool_used, memory_order_relaxed);
	while (~u) {
		int i = __builtin_ctzll(~u);
		if (atomic_compare_exchange_weak_explicit(&pool_used, &u, u | 1ull << i,
							  memory_order_acquire, memory_order_relaxed))
			return &pool[i];
	}
	ma_tls.guard++;
	struct start *st = ma_real_malloc(sizeof(*st));
	ma_tls.guard--;
	return st;
}

static void start_free(struct start *st)
{
	if (st >= pool && st < pool + POOL) {
		atomic_fetch_and_explicit(&pool_used, ~(1ull << (st - pool)), memory_order_release);
		return;
	}
	ma_tls.guard++;
	ma_real_free(st);
	ma_tls.guard--;
}

void ma_lineage_of_self(uint32_t *parent_tid, uint64_t *born_seq)
{
	*parent_tid = self_lineage.parent_tid;
	*born_seq = self_lineage.born_seq;
}

static void *trampoline(void *p)
{
	struct start st = *(struct start *)p;
	start_free(p);
	ma_tls.guard++;
	self_lineage = st.from;
	if (atomic_load(&ma_tracking))
		ma_thread_attach();
	ma_tls.guard--;
	return st.fn(st.arg);
}

int ma_h_pthread_create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg)
{
	if (!atomic_load(&ma_tracking) || ma_tls.guard || !ma_real_malloc || !ma_real_free)
		return ma_real_pthread_create(th, at, fn, arg);
	struct start *st = start_alloc();
	if (!st)
		return ma_real_pthread_create(th, at, fn, arg);
	st->fn = fn;
	st->arg = arg;
	st->from.parent_tid = (uint32_t)ma_gettid();
	st->from.born_seq = atomic_load(&ma_seq);
	int r = ma_real_pthread_create(th, at, trampoline, st);
	if (r != 0)
		start_free(st);
	return r;
}

/* truth.h — the bookkeeping the counting targets keep about their own
 * allocations, and the one JSON line of truth they print at the end.
 *
 * Rules: everything the process allocates through the hooked calls is
 * recorded by memattach, so a target must allocate nothing outside the
 * counted calls.  No stdio: lines are formatted with snprintf into stack
 * buffers and written with write(2).  Counters are atomics so that threads
 * can share them; a peak reached while several threads run is not exact
 * (the target's order is not memattach's seq order), so every target puts
 * its peak in a single-threaded phase that provably exceeds any other.
 *
 * Attach mode (--wait-signal): the target prints "ready <pid>", waits for
 * SIGUSR1, runs its workload, prints the truth, waits for SIGUSR1 again and
 * exits; a test attaches between the two signals.  In attach mode the
 * counters restart at t_begin(): work done before it is not in the truth. */
#ifndef MA_TRUTH_H
#define MA_TRUTH_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
#include <atomic>
#define T_ATOMIC(t) std::atomic<t>
using std::atomic_fetch_add_explicit;
using std::atomic_fetch_sub_explicit;
using std::atomic_load_explicit;
using std::atomic_compare_exchange_weak_explicit;
using std::memory_order_relaxed;
#else
#include <stdatomic.h>
#define T_ATOMIC(t) _Atomic t
#endif

/* Allocation kinds, named as `memattach report stats --json` names them. */
enum t_kind {
	T_MALLOC, T_CALLOC, T_REALLOC, T_REALLOCARRAY, T_POSIX_MEMALIGN,
	T_ALIGNED_ALLOC, T_MEMALIGN, T_VALLOC, T_PVALLOC, T_NEW, T_NEW_ARRAY,
	T_MMAP, T_MREMAP, T_NKINDS
};

static const char *const t_kind_names[T_NKINDS] = {
	"malloc", "calloc", "realloc", "reallocarray", "posix_memalign",
	"aligned_alloc", "memalign", "valloc", "pvalloc", "operator_new",
	"operator_new_array", "mmap", "mremap",
};

struct t_truth {
	T_ATOMIC(uint64_t) allocs, frees, bytes, live, live_count, peak;
	T_ATOMIC(uint64_t) untracked_frees;
	T_ATOMIC(uint64_t) kind_count[T_NKINDS], kind_bytes[T_NKINDS];
	T_ATOMIC(int) kind_used[T_NKINDS];
	int wait_signal;  /* attach mode */
	int exit_code;
};

/* The one instance, shared with the dlopen'ed library through a pointer. */
extern struct t_truth t_truth;
#define T_DEFINE_TRUTH struct t_truth t_truth

static inline void t_die(const char *what)
{
	char buf[256];
	int n = snprintf(buf, sizeof buf, "target: %s failed: %s\n", what,
			 strerror(errno));
	if (write(2, buf, (size_t)n) < 0) { /* nothing left to tell */ }
	_exit(99);
}

static inline void t_write(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(98);
		}
		s += w;
		n -= (size_t)w;
	}
}

/* Marks the kind as used even when nothing was counted, so the truth
 * says "0" for it. */
static inline void t_use_kind(struct t_truth *t, enum t_kind k)
{
	t->kind_used[k] = 1;
}

/* A tracked block of n bytes appeared. */
static inline void t_alloc(struct t_truth *t, enum t_kind k, uint64_t n)
{
	atomic_fetch_add_explicit(&t->allocs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->bytes, n, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->kind_count[k], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->kind_bytes[k], n, memory_order_relaxed);
	t->kind_used[k] = 1;
	atomic_fetch_add_explicit(&t->live_count, 1, memory_order_relaxed);
	uint64_t live = atomic_fetch_add_explicit(&t->live, n, memory_order_relaxed) + n;
	uint64_t peak = atomic_load_explicit(&t->peak, memory_order_relaxed);
	while (live > peak &&
	       !atomic_compare_exchange_weak_explicit(&t->peak, &peak, live,
						      memory_order_relaxed,
						      memory_order_relaxed))
		;
}

/* A tracked block of n bytes went away entirely. */
static inline void t_free(struct t_truth *t, uint64_t n)
{
	atomic_fetch_add_explicit(&t->frees, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&t->live_count, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&t->live, n, memory_order_relaxed);
}

/* Part of a tracked block (n bytes) went away; the block stays. */
static inline void t_shrink(struct t_truth *t, uint64_t n)
{
	atomic_fetch_sub_explicit(&t->live, n, memory_order_relaxed);
}

/* A block allocated before tracking began was freed. */
static inline void t_untracked_free(struct t_truth *t)
{
	atomic_fetch_add_explicit(&t->untracked_frees, 1, memory_order_relaxed);
}

static inline void t_reset(struct t_truth *t)
{
	t->allocs = 0; t->frees = 0; t->bytes = 0; t->live = 0;
	t->live_count = 0; t->peak = 0; t->untracked_frees = 0;
	for (int k = 0; k < T_NKINDS; k++) {
		t->kind_count[k] = 0;
		t->kind_bytes[k] = 0;
	}
}

/* Parses the options every target knows: --wait-signal, --exit-code N.
 * Unknown arguments are left for the target (returned index of the first). */
static inline int t_init(int argc, char **argv)
{
	int i = 1;
	t_truth.exit_code = 0;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--wait-signal") == 0)
			t_truth.wait_signal = 1;
		else if (strcmp(argv[i], "--exit-code") == 0 && i + 1 < argc)
			t_truth.exit_code = atoi(argv[++i]);
		else
			break;
	}
	return i;
}

static inline void t_wait_usr1(void)
{
	sigset_t set;
	int sig;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	while (sigwait(&set, &sig) != 0)
		;
}

/* Start of the workload.  In attach mode: announce, wait, and restart the
 * counters (what came before is unknown to the capture).  Under `memattach
 * run` everything since start is tracked, so the counters keep going. */
static inline void t_begin(void)
{
	if (t_truth.wait_signal) {
		sigset_t set;
		char buf[64];
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		/* Blocked in every thread created later too, so sigwait gets it. */
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		int n = snprintf(buf, sizeof buf, "ready %ld\n", (long)getpid());
		t_write(buf, (size_t)n);
		t_wait_usr1();
		t_reset(&t_truth);
	}
}

/* End of the workload: prints the truth; in attach mode waits for the
 * second SIGUSR1.  Returns the exit code for main. */
static inline int t_end(void)
{
	struct t_truth *t = &t_truth;
	char buf[4096];
	size_t len = 0;
#define T_PUT(...) len += (size_t)snprintf(buf + len, sizeof buf - len, __VA_ARGS__)
	T_PUT("{\"total_allocations\": %llu, \"total_frees\": %llu, "
	      "\"total_bytes_allocated\": %llu, \"peak_bytes\": %llu, "
	      "\"leaked_bytes\": %llu, \"leaked_allocations\": %llu, "
	      "\"untracked_frees\": %llu, \"by_allocator\": {",
	      (unsigned long long)t->allocs, (unsigned long long)t->frees,
	      (unsigned long long)t->bytes, (unsigned long long)t->peak,
	      (unsigned long long)t->live, (unsigned long long)t->live_count,
	      (unsigned long long)t->untracked_frees);
	int first = 1;
	for (int k = 0; k < T_NKINDS; k++) {
		if (!t->kind_used[k])
			continue;
		T_PUT("%s\"%s\": {\"count\": %llu, \"bytes\": %llu}",
		      first ? "" : ", ", t_kind_names[k],
		      (unsigned long long)t->kind_count[k],
		      (unsigned long long)t->kind_bytes[k]);
		first = 0;
	}
	T_PUT("}}\n");
#undef T_PUT
	t_write(buf, len);
	if (t->wait_signal)
		t_wait_usr1();
	return t->exit_code;
}

/* Deterministic pseudo-random numbers (xorshift64*), one state per user. */
static inline uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ull;
}

/* Touches a block so that the compiler keeps it and the pages are real. */
static inline void t_touch(void *p, size_t n)
{
	if (n > 0) {
		((volatile unsigned char *)p)[0] = 1;
		((volatile unsigned char *)p)[n - 1] = 2;
	}
}

#endif

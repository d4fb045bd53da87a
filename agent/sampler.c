/* sampler.c — --sample SIZE: the countdown's draws and the set of sampled
 * addresses (see sampler.h).
 *
 * The set is read by every free of the target, so a lookup takes no lock:
 * open addressing with linear probing, changed only under a spin lock
 * (inserts and removals happen once per SIZE bytes allocated, on average)
 * and read under a sequence count (odd while a change is under way; a
 * reader that saw it move looks again).  Removal shifts entries back, so
 * there are no tombstones and a miss ends at the first empty slot.  Most
 * frees are of blocks never sampled: a bitmap with one bit per slot, set
 * while some entry has that slot as its home, answers them from 1/64 of
 * the table's memory (a probe of the table itself was a cache miss per
 * free: 6% of a malloc-heavy run), and 256 bits in the set's header, one
 * per 256th of the table (zones), answer most of them from the line every
 * free reads anyway (the bitmap was still a miss after the program had
 * touched much memory).
 *
 * Memory: one reservation of MAX_SLOTS * 8 * 2 bytes of address space,
 * made at the first sampled session and never unmapped (a free still
 * reading it after a session ended reads zeros, never faults).  Tables of
 * 2^k slots live at offset 2^k * 8 in it; a table full to half moves to
 * the next and the old one is given back (MADV_DONTNEED).  So resident
 * memory is at most 33 bytes per live sampled block (a table is a quarter
 * to half full, and its bitmap), at least 130 KiB; past MAX_SLOTS / 2 live samples (1M),
 * new samples are refused (counted as ThreadCounts.samples_refused). */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "sampler.h"
#include MA_AGENT_ARCH_H

#define MIN_BITS 14
#define MAX_BITS 21
#define MAX_SLOTS (1ul << MAX_BITS)
_Static_assert(MIN_BITS >= 14, "a zone (1/256 of the table) is whole words of the bitmap");

static _Atomic uint64_t *region;     /* 2 * MAX_SLOTS slots of address space */
static _Atomic uint64_t *homes_region; /* their bitmaps: 2 * MAX_SLOTS bits */
struct ma_sample_set ma_sample_set;
#define set ma_sample_set
#define version set.version
#define table_bits set.bits
#define table set.table
static atomic_flag wlock = ATOMIC_FLAG_INIT;
static size_t used;                  /* under wlock */
static atomic_uint thread_ordinal;   /* seeds: the n-th thread to sample */

static void lock(void)
{
	while (atomic_flag_test_and_set_explicit(&wlock, memory_order_acquire))
		MA_CPU_PAUSE();
}

static void unlock(void)
{
	atomic_flag_clear_explicit(&wlock, memory_order_release);
}

#define home ma_sample_home

static _Atomic uint64_t *table_at(unsigned bits)
{
	return region + (1ul << bits);
}

static _Atomic uint64_t *homes_at(unsigned bits)
{
	return homes_region + ((1ul << bits) >> 6);
}

static inline int home_set(_Atomic uint64_t *homes, size_t h)
{
	return (atomic_load_explicit(&homes[h >> 6], memory_order_relaxed) >> (h & 63)) & 1;
}

static void bit_mark(_Atomic uint64_t *words, size_t i, int on)
{
	uint64_t w = atomic_load_explicit(&words[i >> 6], memory_order_relaxed);
	w = on ? w | 1ull << (i & 63) : w & ~(1ull << (i & 63));
	atomic_store_explicit(&words[i >> 6], w, memory_order_relaxed);
}

/* Whether some home slot of zone z (2^(bits-8) slots, 2^(bits-14) words
 * of the bitmap) is in use. */
static int zone_used(_Atomic uint64_t *homes, unsigned bits, unsigned z)
{
	size_t n = 1ul << (bits - 14), w0 = (size_t)z * n;
	for (size_t i = 0; i < n; i++)
		if (atomic_load_explicit(&homes[w0 + i], memory_order_relaxed))
			return 1;
	return 0;
}

/* Under wlock: home slot h of a 2^bits table in use or not, and its zone
 * with it. */
static void home_mark(_Atomic uint64_t *homes, unsigned bits, size_t h, int on)
{
	unsigned z = (unsigned)(h >> (bits - 8));
	bit_mark(homes, h, on);
	if (on || !zone_used(homes, bits, z))
		bit_mark(set.zones, z, on);
}

static void zones_clear(void)
{
	for (size_t i = 0; i < sizeof(set.zones) / sizeof(set.zones[0]); i++)
		atomic_store_explicit(&set.zones[i], 0, memory_order_relaxed);
}

static void use_table(unsigned bits)
{
	atomic_store_explicit(&table, table_at(bits), memory_order_relaxed);
	atomic_store_explicit(&set.homes, homes_at(bits), memory_order_relaxed);
	atomic_store_explicit(&table_bits, bits, memory_order_relaxed);
}

/* Slot of a, or of the empty slot that ends its run. */
static size_t probe(_Atomic uint64_t *t, unsigned bits, uint64_t a)
{
	size_t mask = (1ul << bits) - 1;
	for (size_t i = home(a, bits);; i = (i + 1) & mask) {
		uint64_t v = atomic_load_explicit(&t[i], memory_order_relaxed);
		if (v == a || v == 0)
			return i;
	}
}

static void put(_Atomic uint64_t *t, _Atomic uint64_t *homes, unsigned bits, uint64_t a)
{
	atomic_store_explicit(&t[probe(t, bits, a)], a, memory_order_relaxed);
	home_mark(homes, bits, home(a, bits), 1);
}

/* Under wlock, version odd: the set in a table twice the size. */
static int grow(void)
{
	unsigned bits = atomic_load_explicit(&table_bits, memory_order_relaxed);
	if (bits >= MAX_BITS)
		return -1;
	_Atomic uint64_t *old = table_at(bits), *nt = table_at(bits + 1), *nh = homes_at(bits + 1);
	for (size_t i = 0; i < (1ul << bits); i++) {
		uint64_t v = atomic_load_explicit(&old[i], memory_order_relaxed);
		if (v)
			put(nt, nh, bits + 1, v);
	}
	use_table(bits + 1);
	madvise((void *)old, (1ul << bits) * sizeof(*old), MADV_DONTNEED);
	madvise((void *)homes_at(bits), (1ul << bits) / 8, MADV_DONTNEED);
	return 0;
}

static void change_begin(void)
{
	lock();
	atomic_fetch_add_explicit(&version, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void change_end(void)
{
	atomic_fetch_add_explicit(&version, 1, memory_order_release);
	unlock();
}

static int insert(uint64_t a)
{
	int ok = 0;
	change_begin();
	if ((used + 1) * 2 <= (1ul << atomic_load_explicit(&table_bits, memory_order_relaxed)) ||
	    grow() == 0) {
		put(atomic_load_explicit(&table, memory_order_relaxed),
		    atomic_load_explicit(&set.homes, memory_order_relaxed),
		    atomic_load_explicit(&table_bits, memory_order_relaxed), a);
		used++;
		ok = 1;
	}
	change_end();
	return ok;
}

/* Under wlock: whether an entry of the cluster from slot h has its home
 * there (they all lie in that cluster). */
static int home_used(_Atomic uint64_t *t, unsigned bits, size_t h)
{
	size_t mask = (1ul << bits) - 1;
	for (size_t i = h;; i = (i + 1) & mask) {
		uint64_t v = atomic_load_explicit(&t[i], memory_order_relaxed);
		if (!v)
			return 0;
		if (home(v, bits) == h)
			return 1;
	}
}

/* Under wlock, version odd: backward-shift deletion of slot i. */
static void remove_at(_Atomic uint64_t *t, unsigned bits, size_t i)
{
	size_t h0 = home(atomic_load_explicit(&t[i], memory_order_relaxed), bits);
	size_t mask = (1ul << bits) - 1, j = i;
	for (;;) {
		j = (j + 1) & mask;
		uint64_t v = atomic_load_explicit(&t[j], memory_order_relaxed);
		if (!v)
			break;
		size_t k = home(v, bits);
		int stays = i <= j ? (k > i && k <= j) : (k > i || k <= j);
		if (!stays) {
			atomic_store_explicit(&t[i], v, memory_order_relaxed);
			i = j;
		}
	}
	atomic_store_explicit(&t[i], 0, memory_order_relaxed);
	used--;
	if (!home_used(t, bits, h0))
		home_mark(atomic_load_explicit(&set.homes, memory_order_relaxed), bits, h0, 0);
}

/* Lock-free: whether a is in the set now (a consistent reading). */
static int contains(uint64_t a)
{
	for (;;) {
		unsigned v = atomic_load_explicit(&version, memory_order_acquire);
		if (v & 1) {
			MA_CPU_PAUSE();
			continue;
		}
		_Atomic uint64_t *t = atomic_load_explicit(&table, memory_order_acquire);
		if (!t)
			return 0;
		unsigned bits = atomic_load_explicit(&table_bits, memory_order_relaxed);
		_Atomic uint64_t *homes = atomic_load_explicit(&set.homes, memory_order_relaxed);
		int found = home_set(homes, home(a, bits)) &&
			    atomic_load_explicit(&t[probe(t, bits, a)], memory_order_relaxed) == a;
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&version, memory_order_relaxed) == v)
			return found;
	}
}

int ma_sample_forget(uintptr_t p)
{
	/* Only the thread freeing p removes it, and p is live until then: a
	 * hit stays a hit under the lock. */
	if (!p || !contains(p))
		return 0;
	change_begin();
	_Atomic uint64_t *t = atomic_load_explicit(&table, memory_order_relaxed);
	unsigned bits = atomic_load_explicit(&table_bits, memory_order_relaxed);
	size_t i = probe(t, bits, p);
	int found = atomic_load_explicit(&t[i], memory_order_relaxed) == p;
	if (found)
		remove_at(t, bits, i);
	change_end();
	if (found)
		ma_clock_tick();   /* the event's time (ma_event_ns) */
	return found;
}

void ma_sample_restore(uintptr_t p)
{
	if (p)
		insert(p);
}

/* splitmix64: seeds from (seed, thread ordinal). */
static uint64_t mix(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t next(struct ma_sample_thread *s)
{
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Bytes to the next sample: floor(E) + 1, E exponential of mean SIZE, so
 * that an allocation of n bytes is reached with probability
 * P(E < n) = 1 - exp(-n/SIZE). */
static double (*log_fn)(double);

static int64_t draw(struct ma_sample_thread *s)
{
	double u = ((double)(next(s) >> 11) + 1.0) * 0x1.0p-53;   /* (0, 1] */
	double e = -log_fn(u) * (double)ma_cfg.sample;
	return e >= 9.0e18 ? INT64_MAX : (int64_t)e + 1;
}

static void seed(struct ma_sample_thread *s)
{
	uint64_t n = atomic_fetch_add_explicit(&thread_ordinal, 1, memory_order_relaxed);
	s->rng = mix(ma_cfg.sample_seed ^ mix(n)) | 1;
}

int ma_sample_take(struct ma_thread *t, uintptr_t p, size_t n)
{
	struct ma_sample_thread *s = &t->smp;
	if (!s->rng) {
		/* New to this session: the countdown starts now. */
		seed(s);
		s->left = draw(s) - (int64_t)n;
		if (s->left > 0)
			return 0;
	}
	s->left = draw(s);
	if (!insert(p)) {
		ma_sample_count(&s->refused, 1);
		return 0;
	}
	ma_sample_count(&s->samples, 1);
	ma_clock_tick();   /* the event's time (ma_event_ns) */
	return 1;
}

/* A fresh seed for runs that name none. */
static uint64_t any_seed(void)
{
	return mix(ma_now_ns() ^ ((uint64_t)getpid() << 32));
}

/* libm's log, taken from the process (most have libm loaded) or loaded
 * then: the agent does not link libm, which a container's root may lack
 * (the agent's own libraries are copied there, glibc's never are). */
static int find_log(void)
{
	if (!log_fn)
		log_fn = (double (*)(double))dlsym(RTLD_DEFAULT, "log");
	if (!log_fn) {
		void *m = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
		if (m)
			log_fn = (double (*)(double))dlsym(m, "log");
	}
	return log_fn != NULL;
}

/* The set emptied, its pages given back, at its smallest size. */
static void empty_table(void)
{
	change_begin();
	madvise((void *)region, 2 * MAX_SLOTS * sizeof(uint64_t), MADV_DONTNEED);
	madvise((void *)homes_region, 2 * MAX_SLOTS / 8, MADV_DONTNEED);
	use_table(MIN_BITS);
	zones_clear();
	used = 0;
	change_end();
}

void ma_sample_session_start(void)
{
	if (!ma_cfg.sample)
		return;
	if (!find_log()) {
		ma_warn(0, "--sample needs libm.so.6, which this process cannot load: "
			"every allocation is recorded");
		ma_cfg.sample = 0;
		return;
	}
	if (!ma_cfg.sample_seed)
		ma_cfg.sample_seed = any_seed();
	if (!region) {
		long r = syscall(SYS_mmap, NULL, 2 * MAX_SLOTS * sizeof(uint64_t), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r < 0 && r > -4096) {
			ma_cfg.sample = 0;   /* no set: record everything */
			return;
		}
		long h = syscall(SYS_mmap, NULL, 2 * MAX_SLOTS / 8, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (h < 0 && h > -4096) {
			syscall(SYS_munmap, r, 2 * MAX_SLOTS * sizeof(uint64_t));
			ma_cfg.sample = 0;
			return;
		}
		region = (_Atomic uint64_t *)r;
		homes_region = (_Atomic uint64_t *)h;
	}
	/* empty, whatever an earlier session (or a parent, before fork) left */
	empty_table();
	atomic_store(&thread_ordinal, 0);
	ma_threads_lock();
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next)
		memset(&t->smp, 0, sizeof(t->smp));
	ma_threads_unlock();
}

/* A fork child: another thread of the parent may have held the set's lock
 * (or been mid-change) at the fork; the child's next session must not
 * wait for it. */
void ma_sample_forget_in_child(void)
{
	atomic_flag_clear(&wlock);
	if (atomic_load(&version) & 1)
		atomic_fetch_add(&version, 1);
}

void ma_sample_release(void)
{
	if (!region)
		return;
	empty_table();
}

int ma_sample_unsent(const struct ma_thread *t)
{
	const struct ma_sample_thread *s = &t->smp;
	return ma_cfg.sample && (atomic_load(&s->allocs) != s->sent_allocs ||
				 atomic_load(&s->frees) != s->sent_frees ||
				 atomic_load(&s->refused) != s->sent_refused);
}

void ma_sample_emit_counts(void (*emit)(const void *rec, void *ctx))
{
	if (!ma_cfg.sample)
		return;
	ma_threads_lock();
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next) {
		struct ma_sample_thread *s = &t->smp;
		if (!ma_sample_unsent(t))
			continue;
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__ThreadCounts tc = MEMATTACH__THREAD_COUNTS__INIT;
		tc.tid = t->tid;
		s->sent_allocs = tc.allocations = atomic_load(&s->allocs);
		tc.allocation_bytes = atomic_load(&s->bytes);
		s->sent_frees = tc.frees = atomic_load(&s->frees);
		tc.samples = atomic_load(&s->samples);
		s->sent_refused = tc.samples_refused = atomic_load(&s->refused);
		rec.r_case = MEMATTACH__RECORD__R_THREAD_COUNTS;
		rec.thread_counts = &tc;
		emit(&rec, NULL);
	}
	ma_threads_unlock();
}

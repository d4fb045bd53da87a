/* py_walk.c — walks the calling thread's Python frames and merges them
 * into its native stack.  Runs on every allocation: no locks, no
 * syscalls, a few loads per frame and one hash lookup.
 *
 * Only the calling thread's own frames are read, synchronously, so the
 * chain cannot change under us; pointers are still checked (non-null,
 * aligned, code objects by their type) because an allocation can happen
 * while a frame or code object is being built.
 *
 * Grouping: in 3.8-3.10 each call of the eval loop runs one frame.  From
 * 3.11 one call runs several: 3.11 marks the first frame of each call
 * (is_entry), 3.12+ puts a shim frame owned by the C stack below it. */
#include "py_agent.h"
#include <pthread.h>
#include <string.h>
#include "record_io.h"

#define FRAME_OWNED_BY_CSTACK 3
#define CACHE_BITS 8

/* Per-thread caches in front of ma_py_frame_id, whose content hashes cost
 * most of a walk.
 *
 * checked: an entry is reused only when the code object, offset, name and
 * file pointers, the name's hash and the line table are all the same: a
 * code object freed and its address reused by another function differs in
 * its name (pointer or hash) or its line table.
 *
 * fast: with --trace-python-allocators every code object's death is seen
 * (its block passes through the OBJ domain's free and moves
 * ma_py_code_epoch on), so within one epoch a code address means one code
 * object and (code, offset) alone is the key.  The whole table is dropped
 * when the epoch moves. */
struct checked_entry {
	uintptr_t code, name, file, lt;
	int64_t name_hash;
	uint32_t off, id;
};

struct fast_entry {
	uintptr_t code;
	uint32_t off, id;
};

/* The thread's last Python-only walk (fast mode): most allocations come
 * from the same frames as the one before, or differ only at the inside. */
struct memo_entry {
	uintptr_t code;
	uint32_t off, id;
};

/* Stacks by the hashes of their raw frames (fast mode). */
struct known_entry {
	uint64_t h1, h2;
	uint32_t n, stack;
};

/* Fast mode's tables, 12 KiB, made only for threads that use them. */
struct fast_tables {
	uint64_t epoch;                    /* of the fast and known entries */
	struct known_entry known[1u << CACHE_BITS];
	struct fast_entry fast[1u << CACHE_BITS];
	uint64_t memo_epoch;
	uint32_t memo_n;
	struct memo_entry memo[MA_PY_MAX_FRAMES];
};

struct thread_frames {
	struct checked_entry checked[1u << CACHE_BITS];
	struct fast_tables *ft;
};

_Atomic uint64_t ma_py_code_epoch = 1;
atomic_int ma_py_epoch_trusted;

/* The calling thread's caches, made on first use (NULL: no memory). */
static struct thread_frames *thread_frames(void)
{
	struct ma_thread *t = ma_thread_self();
	if (!t)
		return NULL;
	if (!t->py_cache)
		t->py_cache = ma_arena_alloc(sizeof(struct thread_frames));
	return t->py_cache;
}

static inline uint32_t slot_of(uintptr_t code, uint32_t off)
{
	return ((code >> 4) ^ (code >> 12) ^ off * 0x9e3779b1u) & ((1u << CACHE_BITS) - 1);
}

#define NOT_CODE UINT32_MAX

/* The frame id of (code, off) through the checked cache; NOT_CODE when
 * code is no code object (a frame being built). */
static __attribute__((noinline)) uint32_t frame_id_checked(struct thread_frames *tf,
							   uintptr_t code, uint32_t off)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!ma_py_is(code, ma_py.code_type))
		return NOT_CODE;
	if (!tf)
		return ma_py_frame_id(code, off);
	uintptr_t name = ma_py_rd(code + (l->co_qualname >= 0 ? l->co_qualname : l->co_name));
	uintptr_t file = ma_py_rd(code + l->co_filename);
	uintptr_t lt = ma_py_rd(code + l->co_linetable);
	int64_t nh = ma_py_ptr_ok(name) ? *(const int64_t *)(name + l->str_hash) : -1;
	/* Names Python never hashed (qualnames like f.<locals>.<listcomp>):
	 * their content is the validator. */
	if (nh == -1)
		nh = (int64_t)ma_py_str_hash(name);
	struct checked_entry *e = &tf->checked[slot_of(code, off)];
	if (e->code == code && e->off == off && e->name == name && e->file == file &&
	    e->lt == lt && e->name_hash == nh && e->id)
		return e->id;
	uint32_t id = ma_py_frame_id(code, off);
	if (id)
		*e = (struct checked_entry){ code, name, file, lt, nh, off, id };
	return id;
}

static inline uint32_t frame_id(struct thread_frames *tf, int fast, uintptr_t code, uint32_t off)
{
	if (!fast)
		return frame_id_checked(tf, code, off);
	struct fast_entry *e = &tf->ft->fast[slot_of(code, off)];
	if (e->code == code && e->off == off)
		return e->id;
	uint32_t id = frame_id_checked(tf, code, off);
	if (id && id != NOT_CODE)
		*e = (struct fast_entry){ code, off, id };
	return id;
}

/* Sets up the walk's caches: fast is set when the epoch can be trusted. */
static inline struct thread_frames *walk_caches(int *fast)
{
	struct thread_frames *tf = thread_frames();
	*fast = 0;
	if (tf && atomic_load_explicit(&ma_py_epoch_trusted, memory_order_relaxed)) {
		if (!tf->ft && !(tf->ft = ma_arena_alloc(sizeof(*tf->ft))))
			return tf;
		struct fast_tables *ft = tf->ft;
		uint64_t epoch = atomic_load_explicit(&ma_py_code_epoch, memory_order_relaxed);
		if (ft->epoch != epoch) {
			memset(ft->fast, 0, sizeof(ft->fast));
			memset(ft->known, 0, sizeof(ft->known));
			ft->epoch = epoch;
		}
		*fast = 1;
	}
	return tf;
}

struct walk {
	uint32_t ids[MA_PY_MAX_FRAMES];
	uint32_t end[MA_PY_MAX_FRAMES + 1];   /* group g = ids[end[g-1] .. end[g]) */
	uint32_t n, ngroups;
};

static inline void close_group(struct walk *w)
{
	if (w->ngroups < MA_PY_MAX_FRAMES + 1)
		w->end[w->ngroups++] = w->n;
}

/* Reads frame f's code and instruction offset.  Returns 0 for a shim
 * frame (3.12+: owned by the C stack, it ends a group).  *last is set on
 * the outermost frame of one eval-loop call. */
static inline int read_frame(uintptr_t f, uintptr_t *code, uint32_t *off, int *last)
{
	const struct ma_py_layout *l = &ma_py.l;
	*code = ma_py_rd(f + l->fr_code);
	if (ma_py.frames_v311) {
		if (l->fr_is_entry < 0 && *(const uint8_t *)(f + l->fr_owner) == FRAME_OWNED_BY_CSTACK)
			return 0;
		uintptr_t ip = ma_py_rd(f + l->fr_instr), base = *code + (uintptr_t)l->co_code;
		*off = ip >= base && ip - base < (1u << 28) ? (uint32_t)(ip - base) : 0;
		*last = l->fr_is_entry >= 0 && *(const uint8_t *)(f + l->fr_is_entry);
	} else {
		int lasti = *(const int *)(f + l->fr_instr);
		*off = lasti < 0 ? 0 : (uint32_t)lasti * (ma_py.lasti_units ? 2u : 1u);
		*last = 1;
	}
	return 1;
}

#define WALK_LIMIT (4 * MA_PY_MAX_FRAMES)   /* frames looked at, shims included */

static void walk_frames(uintptr_t f, struct thread_frames *tf, int fast, struct walk *w)
{
	int last;
	unsigned steps = 0;
	for (; ma_py_ptr_ok(f) && w->n < MA_PY_MAX_FRAMES && steps < WALK_LIMIT;
	     f = ma_py_rd(f + ma_py.l.fr_previous), steps++) {
		uintptr_t code;
		uint32_t off, id;
		if (!read_frame(f, &code, &off, &last)) {
			close_group(w);
			continue;
		}
		if ((id = frame_id(tf, fast, code, off)) == NOT_CODE)
			continue;
		w->ids[w->n++] = id;
		if (last)
			close_group(w);
	}
	if (!w->ngroups || w->end[w->ngroups - 1] != w->n)
		close_group(w);
}

static inline uint32_t put_group(const struct walk *w, uint32_t g, uint64_t *out,
				 uint32_t o, uint32_t cap)
{
	for (uint32_t i = g ? w->end[g - 1] : 0; i < w->end[g] && o < cap; i++)
		if (w->ids[i])
			out[o++] = MA_FRAME_PYTHON_BIT | w->ids[i];
	return o;
}

static uintptr_t frame_of(uintptr_t ts)
{
	if (!ma_py_ptr_ok(ts))
		return 0;
	const struct ma_py_layout *l = &ma_py.l;
	uintptr_t f = ma_py_rd(ts + l->ts_frame);
	if (l->cframe_frame >= 0)
		f = ma_py_ptr_ok(f) ? ma_py_rd(f + l->cframe_frame) : 0;
	return ma_py_ptr_ok(f) ? f : 0;
}

/* The calling thread's innermost Python frame, 0 when it runs none. */
static uintptr_t innermost_frame(void)
{
	static int seen_initialized;
	if (!ma_py_active)
		return 0;
	/* Finalization frees thread states that daemon threads still find in
	 * their TLS: from then on, native stacks only. */
	if (ma_py.is_initialized())
		seen_initialized = 1;
	else if (seen_initialized)
		return 0;
	if (ma_py.is_finalizing())
		return 0;
	return frame_of((uintptr_t)ma_py.get_tstate());
}

/* The same for a thread that holds the GIL (PyMem MEM and OBJ domains):
 * its thread state is the interpreter's current one, valid through
 * finalization (only the GIL's holder runs), NULL after it.  An extension
 * that breaks the rule and calls PyMem_Malloc without the GIL would see
 * another thread's: the state's own thread id says whose it is. */
static uintptr_t innermost_frame_gil(void)
{
	if (!ma_py_active)
		return 0;
	uintptr_t ts = ma_py.get_current ? (uintptr_t)ma_py.get_current() : 0;
	if (!ma_py_ptr_ok(ts) ||
	    *(const unsigned long *)(ts + ma_py.l.ts_thread_id) != (unsigned long)pthread_self())
		return innermost_frame();
	return frame_of(ts);
}

uint32_t ma_py_merge(const uint64_t *nat, uint32_t n, uint64_t *out, uint32_t cap)
{
	uintptr_t f = innermost_frame();
	if (!f)
		return 0;
	int fast;
	struct thread_frames *tf = walk_caches(&fast);
	struct walk w;
	w.n = w.ngroups = 0;
	walk_frames(f, tf, fast, &w);
	if (!w.n)
		return 0;
	uint32_t o = 0, g = 0;
	for (uint32_t i = 0; i < n && o < cap; i++) {
		if (nat[i] > ma_py.eval_lo && nat[i] <= ma_py.eval_hi && g < w.ngroups)
			o = put_group(&w, g++, out, o, cap);
		if (o < cap)
			out[o++] = nat[i];
	}
	/* A truncated native stack: the Python view stays whole. */
	while (g < w.ngroups)
		o = put_group(&w, g++, out, o, cap);
	return o;
}

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/* Fast mode.  The frames are read first, a chain of dependent loads; two
 * independent 64-bit hashes of their (code, offset) pairs are computed in
 * the shadow of those loads.  Within an epoch the pairs decide the stack,
 * so a thread that allocates again from frames it has seen finds the
 * stack's id by those 128 bits and the depth, without another lookup.
 * Otherwise the pairs are compared with the last walk aligned at the
 * outermost frame, and only the frames that differ are looked up. */
static uint32_t frames_fast(uintptr_t f, struct thread_frames *tf, uint64_t *out, uint32_t cap,
			    struct ma_py_known *known)
{
	struct fast_tables *ft = tf->ft;
	struct memo_entry cur[MA_PY_MAX_FRAMES];
	uint32_t n = 0;
	unsigned steps = 0;
	uint64_t h1 = 0x9e3779b97f4a7c15ull, h2 = 0x6a09e667f3bcc909ull;
	int last;
	for (; ma_py_ptr_ok(f) && n < MA_PY_MAX_FRAMES && steps < WALK_LIMIT;
	     f = ma_py_rd(f + ma_py.l.fr_previous), steps++) {
		if (!read_frame(f, &cur[n].code, &cur[n].off, &last))
			continue;
		uint64_t x = cur[n].code ^ ((uint64_t)cur[n].off << 47) ^ n;
		h1 = (h1 ^ x) * 0xff51afd7ed558ccdull;
		h2 = rotl(h2 + x * 0xc4ceb9fe1a85ec53ull, 31);
		n++;
	}
	h1 ^= h1 >> 33;
	struct known_entry *k = &ft->known[(h1 ^ h2) & ((1u << CACHE_BITS) - 1)];
	if (k->h1 == h1 && k->h2 == h2 && k->n == n && k->stack) {
		known->stack = k->stack;
		return MA_PY_KNOWN;
	}
	*k = (struct known_entry){ h1, h2, n, 0 };
	known->slot = k;

	uint32_t m = ft->memo_epoch == ft->epoch ? ft->memo_n : 0;
	for (uint32_t i = 0; i < n; i++) {
		struct memo_entry *c = &cur[i];
		/* aligned at the outermost frame: cur[i] ~ memo[i + m - n] */
		const struct memo_entry *p = i + m >= n ? &ft->memo[i + m - n] : NULL;
		if (p && p->code == c->code && p->off == c->off) {
			c->id = p->id;
			continue;
		}
		c->id = frame_id(tf, 1, c->code, c->off);
		if (m == n)
			ft->memo[i] = *c;
	}
	if (m != n) {
		memcpy(ft->memo, cur, n * sizeof(*cur));
		ft->memo_n = n;
	}
	ft->memo_epoch = ft->epoch;
	uint32_t o = 0;
	for (uint32_t i = 0; i < n && o < cap; i++)
		if (cur[i].id && cur[i].id != NOT_CODE)
			out[o++] = MA_FRAME_PYTHON_BIT | cur[i].id;
	return o;
}

uint32_t ma_py_frames(uint64_t *out, uint32_t cap, int gil, struct ma_py_known *known)
{
	known->slot = NULL;
	uintptr_t f = gil ? innermost_frame_gil() : innermost_frame();
	if (!f)
		return 0;
	int fast;
	struct thread_frames *tf = walk_caches(&fast);
	if (fast)
		return frames_fast(f, tf, out, cap, known);
	struct walk w;
	w.n = w.ngroups = 0;
	walk_frames(f, tf, fast, &w);
	uint32_t o = 0;
	for (uint32_t g = 0; g < w.ngroups; g++)
		o = put_group(&w, g, out, o, cap);
	return o;
}

void ma_py_known_set(struct ma_py_known *known, uint32_t stack)
{
	if (known->slot)
		((struct known_entry *)known->slot)->stack = stack;
}

/* Where a native stack can stop in the Python view: just past the
 * innermost eval-loop frame (the interpreter's frames further out are
 * stood for by the Python frames).  0 when no eval frame is among them. */
uint32_t ma_py_native_cut(const uint64_t *nat, uint32_t n)
{
	if (!ma_py_active)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if (nat[i] > ma_py.eval_lo && nat[i] <= ma_py.eval_hi)
			return i + 1;
	return 0;
}

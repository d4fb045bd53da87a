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
#include "../unwind_cache.h"

#define FRAME_OWNED_BY_CSTACK 3
#define CACHE_BITS 8

/* A frame's shape (shape_flags), and in the kept walk what it was read as. */
#define MC_SHIM 1    /* a shim (3.12+): ends a group, no id */
#define MC_LAST 2    /* the outermost frame of an eval-loop call: ends a group */
#define MC_NONE 4    /* no id: not a code object (a frame being built) */

/* What tells one code object from another that took its address: its
 * name, file and line table pointers and the name's cached hash. */
struct code_sig {
	uintptr_t name, file, lt;
	int64_t name_hash;
};

static inline void code_sig_read(uintptr_t code, struct code_sig *g)
{
	const struct ma_py_layout *l = &ma_py.l;
	g->name = ma_py_rd(code + (l->co_qualname >= 0 ? l->co_qualname : l->co_name));
	g->file = ma_py_rd(code + l->co_filename);
	g->lt = ma_py_rd(code + l->co_linetable);
	g->name_hash = ma_py_ptr_ok(g->name) ? *(const int64_t *)(g->name + l->str_hash) : -1;
}

static inline int code_sig_eq(const struct code_sig *a, const struct code_sig *b)
{
	return a->name == b->name && a->file == b->file && a->lt == b->lt &&
	       a->name_hash == b->name_hash;
}

static inline int code_sig_same(uintptr_t code, const struct code_sig *g)
{
	struct code_sig c;
	code_sig_read(code, &c);
	return code_sig_eq(&c, g);
}

/* Where a frame's instruction and shape byte are read, and what of them
 * counts: 3.8-3.10 keep an int offset and no shape (every frame ends a
 * group); 3.11 marks an eval call's first frame, 3.12+ its shim frame. */
struct frame_view {
	long o_ip, o_shape;
	uintptr_t ip_mask;
	uint8_t shape_mask;
};

static inline struct frame_view frame_view(void)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!ma_py.frames_v311)
		return (struct frame_view){ l->fr_instr, l->fr_instr, 0xffffffffu, 0 };
	return (struct frame_view){ l->fr_instr, l->fr_is_entry >= 0 ? l->fr_is_entry : l->fr_owner,
				    ~(uintptr_t)0, 0xff };
}

static inline uint8_t shape_flags(uint8_t raw)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!ma_py.frames_v311)
		return MC_LAST;
	if (l->fr_is_entry < 0)
		return raw == FRAME_OWNED_BY_CSTACK ? MC_SHIM : 0;
	return raw ? MC_LAST : 0;
}

/* The byte offset in code of instruction ip (3.11+: a pointer into the
 * code object; before: f_lasti, in code units in 3.10). */
static inline uint32_t off_of(uintptr_t code, uintptr_t ip)
{
	if (ma_py.frames_v311) {
		uintptr_t base = code + (uintptr_t)ma_py.l.co_code;
		return ip >= base && ip - base < (1u << 28) ? (uint32_t)(ip - base) : 0;
	}
	int lasti = (int)(uint32_t)ip;
	return lasti < 0 ? 0 : (uint32_t)lasti * (ma_py.lasti_units ? 2u : 1u);
}

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
	uintptr_t code;
	struct code_sig sig;   /* name_hash: of the content when Python kept none */
	uint32_t off, id;
};

struct fast_entry {
	uintptr_t code;
	uint32_t off, id;
};

/* Stacks by the hashes of their raw frames (fast mode). */
struct known_entry {
	uint64_t h1, h2;
	uint32_t n, stack;
};

/* The thread's last walk in fast mode, outermost frame first: where each
 * frame was, its raw instruction pointer and code, the hashes of the chain
 * up to it, and its frame id once looked up (0: not yet).  Arrays rather
 * than records: confirm() reads only where the frames were and their
 * instructions. */
struct chain {
	uint64_t epoch, gen;      /* code epoch and ma_mem_gen it was read in */
	uintptr_t term;           /* the outermost frame's previous pointer */
	uint32_t n, stack;        /* entries; this very chain's stack (0: unknown) */
	int whole;                /* the walk reached the chain's end */
	uintptr_t addr[MA_PY_MAX_FRAMES], ip[MA_PY_MAX_FRAMES], code[MA_PY_MAX_FRAMES];
	uint64_t h1[MA_PY_MAX_FRAMES], h2[MA_PY_MAX_FRAMES];
	uint32_t id[MA_PY_MAX_FRAMES];
};

/* Fast mode's tables, 18 KiB, made only for threads that use them. */
struct fast_tables {
	uint64_t epoch;                    /* of the fast and known entries */
	struct known_entry known[1u << CACHE_BITS];
	struct fast_entry fast[1u << CACHE_BITS];
	struct chain chain;
};

struct merge_cache;

struct thread_frames {
	struct checked_entry checked[1u << CACHE_BITS];
	struct fast_tables *ft;
	struct merge_cache *mc;
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
#define HEAD 4   /* new inner frames looked for before the last chain resumes */

/* The frame id of (code, off) through the checked cache; NOT_CODE when
 * code is no code object (a frame being built). */
static __attribute__((noinline)) uint32_t frame_id_checked(struct thread_frames *tf,
							   uintptr_t code, uint32_t off)
{
	if (!ma_py_is(code, ma_py.code_type))
		return NOT_CODE;
	if (!tf)
		return ma_py_frame_id(code, off);
	struct code_sig g;
	code_sig_read(code, &g);
	/* Names Python never hashed (qualnames like f.<locals>.<listcomp>):
	 * their content is the validator. */
	if (g.name_hash == -1)
		g.name_hash = (int64_t)ma_py_str_hash(g.name);
	struct checked_entry *e = &tf->checked[slot_of(code, off)];
	if (e->code == code && e->off == off && code_sig_eq(&e->sig, &g) && e->id)
		return e->id;
	uint32_t id = ma_py_frame_id(code, off);
	if (id)
		*e = (struct checked_entry){ code, g, off, id };
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
	const struct frame_view v = frame_view();
	uint8_t fl = shape_flags(*(const uint8_t *)(f + v.o_shape) & v.shape_mask);
	if (fl & MC_SHIM)
		return 0;
	*code = ma_py_rd(f + ma_py.l.fr_code);
	*off = off_of(*code, ma_py_rd(f + v.o_ip) & v.ip_mask);
	*last = (fl & MC_LAST) != 0;
	return 1;
}

#define WALK_LIMIT (4 * MA_PY_MAX_FRAMES)   /* frames looked at, shims included */

static void walk_frames(uintptr_t f, struct thread_frames *tf, int fast, struct walk *w)
{
	int last;
	unsigned steps = 0;
	/* The last frame's (code, offset) and id.  Every code object met in
	 * one walk is alive (its frame, on this thread's chain, holds it), so
	 * within the walk a repeat of the pair — a function calling itself
	 * from the same line — is the same frame id without the validators. */
	uintptr_t m_code = 0;
	uint32_t m_off = 0, m_id = 0;
	for (; ma_py_ptr_ok(f) && w->n < MA_PY_MAX_FRAMES && steps < WALK_LIMIT;
	     f = ma_py_rd(f + ma_py.l.fr_previous), steps++) {
		uintptr_t code;
		uint32_t off, id;
		if (!read_frame(f, &code, &off, &last)) {
			close_group(w);
			continue;
		}
		if (m_id && code == m_code && off == m_off)
			id = m_id;
		else if ((id = frame_id(tf, fast, code, off)) == NOT_CODE)
			continue;
		else if (id)
			m_code = code, m_off = off, m_id = id;
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
	struct ma_thread *t = ma_thread_self();
	unsigned long me = t ? t->self : (unsigned long)pthread_self();
	if (!ma_py_ptr_ok(ts) || *(const unsigned long *)(ts + ma_py.l.ts_thread_id) != me)
		return innermost_frame();
	return frame_of(ts);
}

/* ma_py_merge's last walk, kept per thread: the frames of a native
 * allocation's Python stack change little from one to the next, and
 * walk_frames costs ~70 instructions a frame.  Kept outermost frame first
 * (what a later walk keeps stays where it is); each frame with what it was
 * read as: its address, code, raw instruction, shape (a shim, the last
 * frame of an eval-loop call), id, and its code object's validators.
 *
 * The merge's Python part is kept too, in its final order: the frames
 * with an id, each at its slot counted from the outer end (which a change
 * of inner frames leaves in place), with the sums of their hash terms at
 * their places in the merged stack.  A call whose frames did not change
 * then costs a check of each frame and nothing per frame after it. */
#define MC_FRAMES 256   /* deeper chains are walked whole */
#define MC_SIG 8     /* its code object is checked when kept: the outer
		      * neighbour (which would vouch for it) has other code */

struct mc_frame {
	uintptr_t addr, code, ip;  /* ip: as frame_view reads it */
	struct code_sig sig;
	uint32_t id;
	uint32_t slot;             /* the frames with an id outside it */
	int32_t bound;             /* the innermost group boundary from it out, -1: none */
	uint8_t fl;
	uint16_t shape;            /* the raw byte; MC_REREAD above it: read again */
};

/* A frame kept with no id (no code object yet) never reads as it was. */
#define MC_REREAD 0x100

struct merge_cache {
	uint32_t n;                /* frames */
	uintptr_t term;            /* the outermost frame's previous pointer */
	uint64_t ver;              /* moves whenever the frames change (the merge's tag) */
	/* slots (frames with an id); those outside the innermost group (whose
	 * stack position the eval frame's native frame shifts by one); slots
	 * whose sums hold */
	uint32_t nslots, outer, sums;
	struct mc_frame fr[MC_FRAMES];
	uint64_t out[MC_FRAMES];   /* slot j at out[MC_FRAMES - 1 - j] */
	uint64_t cum[MC_FRAMES];   /* hash terms of slots 0..j summed */
};

/* Frame a into m; nb, a live frame read in this walk (or NULL): the same
 * code and instruction there is the same id (both code objects alive). */
static void mc_read(struct thread_frames *tf, int fast, struct mc_frame *m, uintptr_t a,
		    const struct mc_frame *nb)
{
	const struct frame_view v = frame_view();
	m->addr = a;
	m->code = ma_py_rd(a + ma_py.l.fr_code);
	m->ip = ma_py_rd(a + v.o_ip);       /* raw: what is compared */
	m->shape = *(const uint8_t *)(a + v.o_shape);
	m->fl = shape_flags((uint8_t)(m->shape & v.shape_mask));
	m->id = 0;
	if (m->fl & MC_SHIM)
		return;
	if (nb && nb->id && !(nb->fl & (MC_SHIM | MC_NONE)) && nb->code == m->code && nb->ip == m->ip) {
		m->id = nb->id;
		m->sig = nb->sig;
		return;
	}
	m->id = frame_id(tf, fast, m->code, off_of(m->code, m->ip & v.ip_mask));
	if (m->id == NOT_CODE) {
		m->id = 0;
		m->fl |= MC_NONE;
		m->shape |= MC_REREAD;
		return;
	}
	code_sig_read(m->code, &m->sig);
}

/* A whole walk into the cache; 0 when the chain is longer than it holds. */
static int mc_walk(uintptr_t f, struct thread_frames *tf, int fast, struct merge_cache *mc)
{
	uint32_t k = 0;
	for (; ma_py_ptr_ok(f) && k < MC_FRAMES; f = ma_py_rd(f + ma_py.l.fr_previous), k++)
		mc_read(tf, fast, &mc->fr[k], f, k ? &mc->fr[k - 1] : NULL);
	mc->n = 0;
	if (ma_py_ptr_ok(f))
		return 0;
	for (uint32_t i = 0; i < k / 2; i++) {   /* outermost first */
		struct mc_frame t = mc->fr[i];
		mc->fr[i] = mc->fr[k - 1 - i];
		mc->fr[k - 1 - i] = t;
	}
	mc->n = k;
	mc->term = f;
	return 1;
}

/* Whether kept frame m reads differently now (or has to be read again).
 * The raw words: a change in what frame_view masks off alone costs only
 * a read again. */
static inline uintptr_t mc_moved(const struct mc_frame *m, const struct frame_view *v)
{
	uintptr_t a = m->addr;
	return (ma_py_rd(a + ma_py.l.fr_code) ^ m->code) | (ma_py_rd(a + v->o_ip) ^ m->ip) |
	       (*(const uint8_t *)(a + v->o_shape) ^ m->shape);
}

/* Whether kept frame m's code object must be checked: no unchanged outer
 * neighbour nb runs the same code (which its frame holds alive). */
static inline int mc_needs_sig(const struct mc_frame *m, const struct mc_frame *nb)
{
	return !(m->fl & MC_SHIM) && !(nb && nb->code == m->code && !(nb->fl & MC_NONE));
}

/* The last walk again, for the frames from the current one (f) outwards:
 * up to HEAD new inner frames are followed until one sits where one of the
 * last walk's innermost frames sat.  From there out, in one pass, each old
 * frame's previous pointer must still lead to the next old one (a frame
 * is known live once a live frame links to it: past a broken link an old
 * address may be gone) and each frame must read as it did, its code
 * object too where no neighbour vouches for it.  The frames from the
 * outermost that did not are read again, outermost first (an unchanged
 * neighbour's id serves), then the new ones.  Returns the first frame
 * read again or new (mc->n when none), -1 when not joined (walk whole). */
static int mc_reuse(uintptr_t f, struct thread_frames *tf, int fast, struct merge_cache *mc)
{
	const long o_prev = ma_py.l.fr_previous;
	const struct frame_view v = frame_view();
	struct mc_frame *fr = mc->fr;
	uint32_t n = mc->n, keep = 0, s = 0, lo = n > HEAD ? n - HEAD : 0;
	uintptr_t ha[HEAD], x = f;
	if (!n)
		return -1;
	for (;; s++) {
		for (uint32_t p = n; p-- > lo;)
			if (fr[p].addr == x) {
				keep = p + 1;
				break;
			}
		if (keep || s == HEAD || !ma_py_ptr_ok(x))
			break;
		ha[s] = x;
		x = ma_py_rd(x + o_prev);
	}
	if (!keep || keep + s > MC_FRAMES)
		return -1;
	uint32_t dirty = keep;
	for (uint32_t p = keep; p-- > 0;) {
		const struct mc_frame *m = &fr[p];
		if (ma_py_rd(m->addr + o_prev) != (p ? m[-1].addr : mc->term))
			return -1;
		if (__builtin_expect(mc_moved(m, &v) != 0, 0) ||
		    ((m->fl & MC_SIG) && !code_sig_same(m->code, &m->sig)))
			dirty = p;
	}
	for (uint32_t p = dirty; p < keep; p++) {
		struct mc_frame *m = &fr[p];
		const struct mc_frame *nb = p ? &fr[p - 1] : NULL;
		if (mc_moved(m, &v))
			mc_read(tf, fast, m, m->addr, nb);
		else if (mc_needs_sig(m, nb) && !code_sig_same(m->code, &m->sig))
			mc_read(tf, fast, m, m->addr, NULL);   /* another code object at the same place */
	}
	for (uint32_t i = 0; i < s; i++)
		mc_read(tf, fast, &fr[keep + i], ha[s - 1 - i], &fr[keep + i - 1]);
	mc->n = keep + s;
	return (int)dirty;
}

/* What ends a group of the merge (as mc_build closes them). */
static inline int mc_bound(uint8_t fl)
{
	return (fl & MC_SHIM) || (fl & (MC_LAST | MC_NONE)) == MC_LAST;
}

static inline int mc_has_slot(const struct mc_frame *m)
{
	return m->id && !(m->fl & (MC_SHIM | MC_NONE));
}

/* Frames lo.. in the merge's form: their slots, check flags and group
 * bounds; the sums held below the first slot that changed or moved. */
static void mc_index(struct merge_cache *mc, uint32_t lo)
{
	struct mc_frame *fr = mc->fr;
	uint32_t slot = lo ? fr[lo - 1].slot + (uint32_t)mc_has_slot(&fr[lo - 1]) : 0;
	int32_t bound = lo ? fr[lo - 1].bound : -1;
	uint32_t first = slot;
	for (uint32_t p = lo; p < mc->n; p++) {
		struct mc_frame *m = &fr[p];
		const struct mc_frame *nb = p ? &fr[p - 1] : NULL;
		m->fl = (uint8_t)((m->fl & ~MC_SIG) | (mc_needs_sig(m, nb) ? MC_SIG : 0));
		m->slot = slot;
		if (mc_bound(m->fl))
			bound = (int32_t)p;
		m->bound = bound;
		if (mc_has_slot(m))
			mc->out[MC_FRAMES - 1 - slot++] = MA_FRAME_PYTHON_BIT | m->id;
	}
	uint32_t outer = bound < 0 ? 0 : fr[bound].slot;
	uint32_t moved = outer == mc->outer ? UINT32_MAX : outer < mc->outer ? outer : mc->outer;
	if (first > mc->sums)
		first = mc->sums;
	if (first > moved)
		first = moved;
	mc->nslots = slot;
	mc->outer = outer;
	mc->sums = first;
	mc->ver++;
}

/* The hash terms of the Python part summed, each slot at its place in
 * the merged stack counted from the outer end: the outer groups' slots at
 * their own, the innermost group's one further (the eval frame's native
 * frame lies between). */
static uint64_t mc_sum(struct merge_cache *mc)
{
	for (uint32_t j = mc->sums; j < mc->nslots; j++)
		mc->cum[j] = (j ? mc->cum[j - 1] : 0) +
			     ma_hash_term(mc->out[MC_FRAMES - 1 - j], j + (j >= mc->outer));
	mc->sums = mc->nslots;
	return mc->nslots ? mc->cum[mc->nslots - 1] : 0;
}

/* The walk from the cache, as walk_frames makes it. */
static void mc_build(const struct merge_cache *mc, struct walk *w)
{
	for (uint32_t p = mc->n; p-- > 0 && w->n < MA_PY_MAX_FRAMES;) {
		uint8_t fl = mc->fr[p].fl;
		if (fl & MC_SHIM) {
			close_group(w);
			continue;
		}
		if (fl & MC_NONE)
			continue;
		w->ids[w->n++] = mc->fr[p].id;
		if (fl & MC_LAST)
			close_group(w);
	}
	if (!w->ngroups || w->end[w->ngroups - 1] != w->n)
		close_group(w);
}

/* The thread's merge cache (NULL: no memory).  A record handed to a new
 * thread keeps it: a walk reads only frames the new thread's chain leads
 * to and checks everything it reuses, so another thread's walk is simply
 * not joined. */
static struct merge_cache *merge_cache(struct thread_frames *tf)
{
	if (tf && !tf->mc)
		tf->mc = ma_arena_alloc(sizeof(*tf->mc));
	return tf ? tf->mc : NULL;
}

int ma_py_merge_prepare(struct ma_py_merging *pm)
{
	pm->f = innermost_frame();
	pm->mc = NULL;
	pm->tag = 0;
	if (!pm->f)
		return 0;
	struct thread_frames *tf = walk_caches(&pm->fast);
	struct merge_cache *mc = merge_cache(tf);
	pm->tf = tf;
	if (!mc)
		return 1;
	uint32_t n0 = mc->n;
	int lo = mc_reuse(pm->f, tf, pm->fast, mc);
	if (lo < 0) {
		if (!mc_walk(pm->f, tf, pm->fast, mc))
			return 1;
		lo = 0;
	}
	if ((uint32_t)lo < mc->n || mc->n != n0)   /* a whole walk: lo 0, its sums none */
		mc_index(mc, (uint32_t)lo);
	pm->mc = mc;
	pm->tag = mc->nslots ? mc->ver : 0;
	return 1;
}

/* The merge of nat and the walk w: each group of Python frames just inside
 * its eval-loop call's native frame. */
static uint32_t merge_walk(const struct walk *w, const uint64_t *nat, uint32_t n, uint64_t *out,
			   uint32_t cap)
{
	uint32_t o = 0, g = 0;
	for (uint32_t i = 0; i < n && o < cap; i++) {
		if (nat[i] > ma_py.eval_lo && nat[i] <= ma_py.eval_hi && g < w->ngroups)
			o = put_group(w, g++, out, o, cap);
		if (o < cap)
			out[o++] = nat[i];
	}
	/* A truncated native stack: the Python view stays whole. */
	while (g < w->ngroups)
		o = put_group(w, g++, out, o, cap);
	return o;
}

/* The usual shape from the kept slots: the native walk stopped at the
 * eval frame (its last), the innermost group just inside it, the others
 * outside.  Its hash sum from the kept sums and the native frames. */
static uint32_t merge_kept(struct merge_cache *mc, const uint64_t *nat, uint32_t n, uint64_t *out,
			   uint64_t *sum)
{
	uint32_t ns = mc->nslots, outer = mc->outer, o = n - 1;
	uint64_t h = mc_sum(mc) + ma_hash_term(nat[n - 1], outer);
	memcpy(out, nat, (n - 1) * sizeof(*out));
	memcpy(out + o, &mc->out[MC_FRAMES - ns], (ns - outer) * sizeof(*out));
	o += ns - outer;
	out[o++] = nat[n - 1];
	memcpy(out + o, &mc->out[MC_FRAMES - outer], outer * sizeof(*out));
	for (uint32_t i = 0; i + 1 < n; i++)
		h += ma_hash_term(nat[i], n + ns - 1 - i);
	*sum = h;
	return n + ns;
}

/* MEMATTACH_TEST_UNWIND_CHECK: the merge from the kept walk must be what
 * a whole walk merges. */
static void check_merge(const struct ma_py_merging *pm, const uint64_t *nat, uint32_t n,
			const uint64_t *out, uint32_t m, uint32_t cap)
{
	static atomic_int said;
	uint64_t whole[MA_MAX_DEPTH + MA_PY_MAX_FRAMES];
	struct walk w;
	w.n = w.ngroups = 0;
	walk_frames(pm->f, pm->tf, pm->fast, &w);
	uint32_t k = w.n ? merge_walk(&w, nat, n, whole, cap) : 0;
	uint32_t i = 0;
	while (i < m && i < k && whole[i] == out[i])
		i++;
	if ((i < m || m != k) && atomic_fetch_add(&said, 1) < 8)
		ma_warn(0, "unwind check: a kept Python walk differs from a whole walk at frame %u of %u/%u",
			i, m, k);
}

uint32_t ma_py_merge(const struct ma_py_merging *pm, const uint64_t *nat, uint32_t n,
		     uint64_t *out, uint32_t cap, uint64_t *sum, int *summed)
{
	struct merge_cache *mc = pm->mc;
	uint32_t m;
	*summed = 0;
	if (mc && mc->nslots && mc->n <= MA_PY_MAX_FRAMES && n && !ma_cfg.pynative &&
	    n + mc->nslots <= cap &&
	    nat[n - 1] > ma_py.eval_lo && nat[n - 1] <= ma_py.eval_hi) {
		m = merge_kept(mc, nat, n, out, sum);
		*summed = 1;
	} else {
		struct walk w;
		w.n = w.ngroups = 0;
		if (mc)
			mc_build(mc, &w);
		else
			walk_frames(pm->f, pm->tf, pm->fast, &w);
		m = w.n ? merge_walk(&w, nat, n, out, cap) : 0;
	}
	if (ma_unwind_check)
		check_merge(pm, nat, n, out, m, cap);
	return m;
}

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

/* Entry p of the chain, with the hashes of the chain up to it; its frame
 * id carries over from the entry it replaces when that had the same code
 * and instruction (ids depend on nothing else within an epoch). */
static inline void put_entry(struct chain *c, uint32_t p, uintptr_t addr, uintptr_t code,
			     uintptr_t ip)
{
	uint64_t h1 = p ? c->h1[p - 1] : 0x9e3779b97f4a7c15ull;
	uint64_t h2 = p ? c->h2[p - 1] : 0x6a09e667f3bcc909ull;
	uint64_t x = code ^ (ip * 0x9e3779b97f4a7c15ull);
	if (p >= c->n || c->code[p] != code || c->ip[p] != ip)
		c->id[p] = 0;
	c->addr[p] = addr;
	c->code[p] = code;
	c->ip[p] = ip;
	c->h1[p] = (h1 ^ x) * 0xff51afd7ed558ccdull;
	c->h2[p] = rotl(h2 + x * 0xc4ceb9fe1a85ec53ull, 31);
}

/* The frame id of chain entry p (its frame is live: part of the current
 * chain); NOT_CODE for a shim or a frame being built. */
static uint32_t entry_id(struct thread_frames *tf, const struct chain *c, uint32_t p)
{
	const struct frame_view v = frame_view();
	if (shape_flags(*(const uint8_t *)(c->addr[p] + v.o_shape) & v.shape_mask) & MC_SHIM)
		return NOT_CODE;
	return frame_id(tf, 1, c->code[p], off_of(c->code[p], c->ip[p]));
}

/* Compares the chain's entries [0, keep) with the frames at their
 * addresses: all loads independent of each other.  Nonzero when a
 * previous pointer (or, where instructions are plain offsets, 3.8-3.10, a
 * code object) differs; *q is the outermost entry whose instruction moved
 * on (keep when none did).  From 3.11 an instruction pointer points into
 * its code object, so an unchanged one means unchanged code: two live
 * code objects never share bytes, and a code object's death moves the
 * epoch, which drops the chain. */
static __attribute__((noinline)) int confirm(const struct chain *c, uint32_t keep, uint32_t *q)
{
	const long o_prev = ma_py.l.fr_previous, o_ip = ma_py.l.fr_instr;
	const uintptr_t *addr = c->addr, *ipv = c->ip;
	uintptr_t expect = c->term, bad = 0;
	uint32_t first = keep;
	if (ma_py.frames_v311) {
		for (uint32_t p = 0; p < keep; p++) {
			uintptr_t a = addr[p];
			bad |= ma_py_rd(a + o_prev) ^ expect;
			expect = a;
			if (ma_py_rd(a + o_ip) != ipv[p] && first == keep)
				first = p;
		}
	} else {
		const long o_code = ma_py.l.fr_code;
		for (uint32_t p = 0; p < keep; p++) {
			uintptr_t a = addr[p];
			bad |= (ma_py_rd(a + o_prev) ^ expect) | (ma_py_rd(a + o_code) ^ c->code[p]);
			expect = a;
			if ((ma_py_rd(a + o_ip) & 0xffffffffu) != ipv[p] && first == keep)
				first = p;
		}
	}
	*q = first;
	return bad != 0;
}


/* Fast mode.  Within an epoch the (code, instruction) pairs of the frames
 * decide the stack, and a thread that meets frames it has seen finds the
 * stack's id by two 64-bit hashes of them and the depth.
 *
 * Reading the chain is a series of dependent loads, a few cycles each.
 * Most allocations come from the frames of the thread's last walk, with
 * at most a few inner ones changed, so those are confirmed instead: the
 * frames from the current one outwards are followed only until one sits
 * where one of the last walk's innermost frames sat; from there every
 * old frame's previous pointer, code and instruction are loaded at once,
 * independent loads, and compared with what they were.  When all match,
 * the old chain is the current one, exactly.  The old addresses are
 * only read while nothing that could have held a frame was released
 * since the last walk (ma_mem_gen, moved by every free and munmap while
 * fast mode is on), and only by a thread holding the GIL, without which
 * no other thread releases Python memory. */
static uint32_t frames_fast(uintptr_t f, struct thread_frames *tf, uint64_t *out, uint32_t cap,
			    struct ma_py_known *known, int gil)
{
	const struct ma_py_layout *l = &ma_py.l;
	const long o_prev = l->fr_previous, o_code = l->fr_code, o_ip = l->fr_instr;
	const uintptr_t mask = frame_view().ip_mask;
	struct fast_tables *ft = tf->ft;
	struct chain *c = &ft->chain;
	uint64_t gen = atomic_load_explicit(&ma_mem_gen, memory_order_relaxed);
	uintptr_t ha[HEAD], hc[HEAD], hi[HEAD], x = f;
	uint32_t n = c->epoch == ft->epoch ? c->n : 0, keep = 0, s = 0;

	if (gil && n && c->whole && c->gen == gen) {
		uint32_t lo = n > HEAD ? n - HEAD : 0;
		for (;; s++) {
			for (uint32_t p = n; p-- > lo;)
				if (c->addr[p] == x) {
					keep = p + 1;
					break;
				}
			if (keep || s == HEAD || !ma_py_ptr_ok(x))
				break;
			ha[s] = x;
			hc[s] = ma_py_rd(x + o_code);
			hi[s] = ma_py_rd(x + o_ip) & mask;
			x = ma_py_rd(x + o_prev);
		}
		if (keep && keep + s <= MA_PY_MAX_FRAMES) {
			uint32_t q;
			int bad = confirm(c, keep, &q);
			if (!bad) {
				for (uint32_t p = q; p < keep; p++)
					put_entry(c, p, c->addr[p], ma_py_rd(c->addr[p] + o_code),
						  ma_py_rd(c->addr[p] + o_ip) & mask);
				if (!s && keep == n && q == keep && c->stack) {
					known->stack = c->stack;
					return MA_PY_KNOWN;
				}
				for (uint32_t i = 0; i < s; i++)
					put_entry(c, keep + i, ha[s - 1 - i], hc[s - 1 - i], hi[s - 1 - i]);
				c->n = n = keep + s;
				goto lookup;
			}
		}
	}

	/* Follow the chain from the current frame, then store it outermost
	 * first. */
	{
		uintptr_t a[MA_PY_MAX_FRAMES], co[MA_PY_MAX_FRAMES], ip[MA_PY_MAX_FRAMES];
		uint32_t k = 0;
		for (x = f; ma_py_ptr_ok(x) && k < MA_PY_MAX_FRAMES; x = ma_py_rd(x + o_prev), k++) {
			a[k] = x;
			co[k] = ma_py_rd(x + o_code);
			ip[k] = ma_py_rd(x + o_ip) & mask;
		}
		if (!n)
			c->n = 0;
		for (uint32_t p = 0; p < k; p++)
			put_entry(c, p, a[k - 1 - p], co[k - 1 - p], ip[k - 1 - p]);
		c->n = n = k;
		c->term = x;
		c->whole = !ma_py_ptr_ok(x);
		c->gen = gen;
		c->epoch = ft->epoch;
	}

lookup:
	c->stack = 0;
	known->last = &c->stack;
	if (!n)
		return 0;
	uint64_t h1 = c->h1[n - 1], h2 = c->h2[n - 1];
	h1 ^= h1 >> 33;
	struct known_entry *k = &ft->known[(h1 ^ h2) & ((1u << CACHE_BITS) - 1)];
	if (k->h1 == h1 && k->h2 == h2 && k->n == n && k->stack) {
		c->stack = k->stack;
		known->stack = k->stack;
		return MA_PY_KNOWN;
	}
	*k = (struct known_entry){ h1, h2, n, 0 };
	known->slot = k;
	uint32_t o = 0;
	for (uint32_t p = n; p-- > 0 && o < cap;) {
		uint32_t id = c->id[p];
		if (!id) {
			id = entry_id(tf, c, p);
			if (id != NOT_CODE)
				c->id[p] = id;
		}
		if (id && id != NOT_CODE)
			out[o++] = MA_FRAME_PYTHON_BIT | id;
	}
	return o;
}

uint32_t ma_py_frames(uint64_t *out, uint32_t cap, int gil, struct ma_py_known *known)
{
	known->slot = NULL;
	known->last = NULL;
	uintptr_t f = gil ? innermost_frame_gil() : innermost_frame();
	if (!f)
		return 0;
	int fast;
	struct thread_frames *tf = walk_caches(&fast);
	if (fast)
		return frames_fast(f, tf, out, cap, known, gil);
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
	if (known->last)
		*known->last = stack;
}

/* Where a native walk stops in the Python view: just past the innermost
 * eval-loop frame, a return address in (*lo, *hi] (the interpreter's
 * frames further out are stood for by the Python frames). */
void ma_py_eval_range(uintptr_t *lo, uintptr_t *hi)
{
	*lo = ma_py.eval_lo;
	*hi = ma_py.eval_hi;
}

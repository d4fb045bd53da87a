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
#include "record_io.h"

#define FRAME_OWNED_BY_CSTACK 3
#define CACHE_BITS 8

/* Per-thread cache in front of ma_py_frame_id, whose content hashes cost
 * most of a walk.  An entry is reused only when the code object, offset,
 * name and file pointers, the name's own cached hash and the line table
 * are all the same: a code object freed and its address reused by another
 * function differs in its name (pointer or hash) or its line table. */
struct cache_entry {
	uintptr_t code, name, file, lt;
	int64_t name_hash;
	uint32_t off, id;
};

/* The calling thread's cache, made on first use (NULL: no memory). */
static struct cache_entry *thread_cache(void)
{
	struct ma_thread *t = ma_thread_self();
	if (!t)
		return NULL;
	if (!t->py_cache)
		t->py_cache = ma_arena_alloc(sizeof(struct cache_entry) << CACHE_BITS);
	return t->py_cache;
}

static inline uint32_t frame_id_cached(struct cache_entry *c, uintptr_t code, uint32_t off)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!c)
		return ma_py_frame_id(code, off);
	uintptr_t name = ma_py_rd(code + (l->co_qualname >= 0 ? l->co_qualname : l->co_name));
	uintptr_t file = ma_py_rd(code + l->co_filename);
	uintptr_t lt = ma_py_rd(code + l->co_linetable);
	int64_t nh = ma_py_ptr_ok(name) ? *(const int64_t *)(name + l->str_hash) : -1;
	struct cache_entry *e = &c[((code >> 4) ^ (code >> 12) ^ off * 0x9e3779b1u) & ((1u << CACHE_BITS) - 1)];
	if (nh != -1 && e->code == code && e->off == off && e->name == name && e->file == file &&
	    e->lt == lt && e->name_hash == nh && e->id)
		return e->id;
	uint32_t id = ma_py_frame_id(code, off);
	if (nh != -1)
		*e = (struct cache_entry){ code, name, file, lt, nh, off, id };
	return id;
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

static void walk_frames(uintptr_t f, struct walk *w)
{
	struct cache_entry *c = thread_cache();
	const struct ma_py_layout *l = &ma_py.l;
	unsigned steps = 0;
	for (; ma_py_ptr_ok(f) && w->n < MA_PY_MAX_FRAMES && steps < 4 * MA_PY_MAX_FRAMES;
	     f = ma_py_rd(f + l->fr_previous), steps++) {
		if (ma_py.frames_v311) {
			if (l->fr_is_entry < 0 &&
			    *(const uint8_t *)(f + l->fr_owner) == FRAME_OWNED_BY_CSTACK) {
				close_group(w);
				continue;
			}
			uintptr_t code = ma_py_rd(f + l->fr_code);
			if (!ma_py_is(code, ma_py.code_type))
				continue;
			uintptr_t ip = ma_py_rd(f + l->fr_instr), base = code + (uintptr_t)l->co_code;
			uint32_t off = ip >= base && ip - base < (1u << 28) ? (uint32_t)(ip - base) : 0;
			w->ids[w->n++] = frame_id_cached(c, code, off);
			if (l->fr_is_entry >= 0 && *(const uint8_t *)(f + l->fr_is_entry))
				close_group(w);
		} else {
			uintptr_t code = ma_py_rd(f + l->fr_code);
			if (!ma_py_is(code, ma_py.code_type))
				continue;
			int lasti = *(const int *)(f + l->fr_instr);
			uint32_t off = lasti < 0 ? 0 : (uint32_t)lasti * (ma_py.lasti_units ? 2u : 1u);
			w->ids[w->n++] = frame_id_cached(c, code, off);
			close_group(w);
		}
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

uint32_t ma_py_merge(const uint64_t *nat, uint32_t n, uint64_t *out, uint32_t cap)
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
	uintptr_t ts = (uintptr_t)ma_py.get_tstate();
	if (!ma_py_ptr_ok(ts))
		return 0;
	const struct ma_py_layout *l = &ma_py.l;
	uintptr_t f = ma_py_rd(ts + l->ts_frame);
	if (l->cframe_frame >= 0)
		f = ma_py_ptr_ok(f) ? ma_py_rd(f + l->cframe_frame) : 0;
	if (!ma_py_ptr_ok(f))
		return 0;
	struct walk w;
	w.n = w.ngroups = 0;
	walk_frames(f, &w);
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

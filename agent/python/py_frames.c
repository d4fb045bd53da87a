/* py_frames.c — interning of Python frames, lock-free like the stack
 * table, in two levels:
 *   (code, instruction offset, validators) → id    the per-event lookup
 *   (function, file, line)                  → id    one PythonFrame record
 * The validators make a freed code object whose address is reused by
 * another one miss the cache: its name and file (pointers and content
 * hashes), line table (pointer and size) and first line are part of the
 * key.  The second level is keyed on the strings, so identical names are
 * sent once whatever code object they come from. */
#include <string.h>
#include "memattach.pb-c.h"
#include "py_agent.h"

#define L1_BITS 18
#define L2_BITS 17
#define NAME_MAX_LEN 512

struct l1 {
	uint64_t key[8];
	uint32_t id;
};

struct l2 {
	uint64_t key[5];
	uint32_t id, line;
	struct l2 *next_new, *next_all;
	char *function, *file;
};

static _Atomic(struct l1 *) *t1;
static _Atomic(struct l2 *) *t2;
static _Atomic uint32_t next_id = 1, n1, n2;
static _Atomic(struct l2 *) new_list, all_list;

static int tables(void)
{
	if (t1)
		return 0;
	/* First use is on an allocating thread: racing initialisers each map
	 * a table, one wins, the loser unmaps its own. */
	_Atomic(struct l1 *) *a = ma_pages_alloc(sizeof(*a) << L1_BITS);
	_Atomic(struct l2 *) *b = ma_pages_alloc(sizeof(*b) << L2_BITS);
	if (!a || !b) {
		if (a) ma_pages_free(a, sizeof(*a) << L1_BITS);
		if (b) ma_pages_free(b, sizeof(*b) << L2_BITS);
		return -1;
	}
	_Atomic(struct l2 *) *nb = NULL;
	if (!__atomic_compare_exchange_n(&t2, &nb, b, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		ma_pages_free(b, sizeof(*b) << L2_BITS);
	_Atomic(struct l1 *) *na = NULL;
	if (!__atomic_compare_exchange_n(&t1, &na, a, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		ma_pages_free(a, sizeof(*a) << L1_BITS);
	return 0;
}

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = ma_arena_alloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void publish(struct l2 *e)
{
	/* all_list first: a session start that takes new_list in between
	 * then sends it twice (harmless), never not at all. */
	struct l2 *old = atomic_load(&all_list);
	do
		e->next_all = old;
	while (!atomic_compare_exchange_weak(&all_list, &old, e));
	old = atomic_load(&new_list);
	do
		e->next_new = old;
	while (!atomic_compare_exchange_weak(&new_list, &old, e));
}

/* Level 2: the id of (name, file, line), creating its record when new. */
static uint32_t intern_l2(uintptr_t name, uintptr_t file, uint64_t nh, uint64_t fh, uint32_t line)
{
	uint64_t k[5] = { name, file, nh, fh, line };
	uint64_t h = ma_hash_words(k, 5);
	struct l2 *mine = NULL;
	for (uint32_t i = 0, s = (uint32_t)h & ((1u << L2_BITS) - 1); i < (1u << L2_BITS);
	     i++, s = (s + 1) & ((1u << L2_BITS) - 1)) {
		struct l2 *e = atomic_load_explicit(&t2[s], memory_order_acquire);
		if (!e) {
			if (atomic_load(&n2) > (3u << L2_BITS) / 4)
				return 0;
			if (!mine) {
				char buf[NAME_MAX_LEN];
				mine = ma_arena_alloc(sizeof(*mine));
				if (!mine)
					return 0;
				memcpy(mine->key, k, sizeof(k));
				mine->line = line;
				ma_py_str_read(name, buf, sizeof(buf));
				mine->function = dup_str(buf);
				ma_py_str_read(file, buf, sizeof(buf));
				mine->file = dup_str(buf);
				mine->id = atomic_fetch_add(&next_id, 1);
			}
			if (atomic_compare_exchange_strong(&t2[s], &e, mine)) {
				atomic_fetch_add(&n2, 1);
				publish(mine);
				return mine->id;
			}
		}
		if (!memcmp(e->key, k, sizeof(k)))
			return e->id;
	}
	return 0;
}

uint32_t ma_py_frame_id(uintptr_t code, uint32_t off)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!t1 && tables() < 0)
		return 0;
	uintptr_t name = ma_py_rd(code + (l->co_qualname >= 0 ? l->co_qualname : l->co_name));
	uintptr_t file = ma_py_rd(code + l->co_filename);
	uintptr_t lt = ma_py_rd(code + l->co_linetable);
	uint64_t nh = ma_py_str_hash(name), fh = ma_py_str_hash(file);
	uint64_t ltn = ma_py_is(lt, ma_py.bytes_type) ? (uint64_t)ma_py_rd(lt + l->bytes_size) : 0;
	uint64_t k[8] = { code, off, name, file, nh, fh, lt,
			  ltn << 32 | (uint32_t)*(const int *)(code + l->co_firstlineno) };
	uint64_t h = ma_hash_words(k, 8);
	struct l1 *mine = NULL;
	for (uint32_t i = 0, s = (uint32_t)h & ((1u << L1_BITS) - 1); i < (1u << L1_BITS);
	     i++, s = (s + 1) & ((1u << L1_BITS) - 1)) {
		struct l1 *e = atomic_load_explicit(&t1[s], memory_order_acquire);
		if (!e) {
			uint32_t id = intern_l2(name, file, nh, fh, ma_py_code_line(code, off));
			if (!id || atomic_load(&n1) > (3u << L1_BITS) / 4)
				return id;
			if (!mine && !(mine = ma_arena_alloc(sizeof(*mine))))
				return id;
			memcpy(mine->key, k, sizeof(k));
			mine->id = id;
			if (atomic_compare_exchange_strong(&t1[s], &e, mine)) {
				atomic_fetch_add(&n1, 1);
				return id;
			}
		}
		if (!memcmp(e->key, k, sizeof(k)))
			return e->id;
	}
	return 0;
}

static void emit_one(const struct l2 *e, void (*emit)(const void *, void *))
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__PythonFrame pf = MEMATTACH__PYTHON_FRAME__INIT;
	pf.id = e->id;
	pf.kind = MEMATTACH__FRAME_KIND__FRAME_PYTHON;
	pf.function = e->function ? e->function : (char *)"?";
	pf.file = e->file ? e->file : (char *)"?";
	pf.line = e->line;
	rec.r_case = MEMATTACH__RECORD__R_PYTHON_FRAME;
	rec.python_frame = &pf;
	emit(&rec, NULL);
}

void ma_py_emit(int all, void (*emit)(const void *rec, void *ctx))
{
	struct l2 *l = atomic_exchange(&new_list, NULL), *r = NULL;
	if (all) {
		for (struct l2 *e = atomic_load(&all_list); e; e = e->next_all)
			emit_one(e, emit);
		return;
	}
	while (l) {   /* oldest first */
		struct l2 *n = l->next_new;
		l->next_new = r;
		r = l;
		l = n;
	}
	for (; r; r = r->next_new)
		emit_one(r, emit);
}

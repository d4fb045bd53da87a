/* addr_model.c — the heap model both ends of a capture keep (addr_model.h).
 * Every step is a function of the events alone (kind, size, address), so
 * the reader, which recovers each address before it updates, stays in step
 * with the writer.  The writer alone needs a live block's index by address:
 * a hash table beside the array; the reader never searches. */
#include <stdlib.h>
#include <string.h>

#include "cli/capture/addr_model.h"

#define NCLASS 96

/* The last blocks freed (up to 8), in a ring: no moves on a push. */
typedef struct lifo {
	uint64_t a[8];
	uint32_t head, n;       /* the j-th newest (j < n) at a[(head - 1 - j) & 7] */
} lifo;
_Static_assert(MA_MODEL_K <= 8 && MA_MODEL_G <= 8, "a lifo holds 8");

/* An open-addressing hash table: key (0: an empty slot) -> index. */
typedef struct table {
	uint64_t *k;
	uint32_t *v;
	uint32_t mask;
} table;

struct ma_addr_model {
	uint64_t *live;         /* live blocks' addresses; a free swaps the last in */
	uint64_t *end;          /* their chunks' ends (a block glibc splits off next) */
	uint8_t *cls;           /* their size classes */
	uint32_t nlive, cap;
	lifo freed[NCLASS];     /* per class, the blocks freed last */
	lifo recent;            /* the blocks freed last, any class */
	uint64_t alloc_guess;   /* the end of the last escaped allocation */
	uint64_t free_guess;    /* the last escaped free */
	int writer;
	table at, ends;         /* writer: index of a live block by address, by end */
};

/* glibc's chunk for a request: 16-byte steps, 32 at least. */
static uint64_t chunk(uint64_t size)
{
	return size < 24 ? 32 : (size + 23) & ~(uint64_t)15;
}

/* One class per chunk size up to tcache's last (1040), then per power of 2. */
static unsigned size_class(uint64_t size)
{
	if (size > (1ull << 60))
		return NCLASS - 1;
	uint64_t c = chunk(size);
	if (c <= 1040)
		return (unsigned)(c >> 4);
	unsigned lg = 63u - (unsigned)__builtin_clzll(c);
	return 66 + lg - 10 < NCLASS ? 66 + lg - 10 : NCLASS - 1;
}

static inline uint32_t hhome(const table *t, uint64_t a)
{
	return (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> 32) & t->mask;
}

static inline uint32_t hslot(const table *t, uint64_t a)
{
	uint32_t i = hhome(t, a);
	while (t->k[i] && t->k[i] != a)
		i = (i + 1) & t->mask;
	return i;
}

/* Empties slot i; the entries after it move back so no probe is cut. */
static void hdel(table *t, uint32_t i)
{
	for (uint32_t j = i;;) {
		j = (j + 1) & t->mask;
		if (!t->k[j])
			break;
		uint32_t h = hhome(t, t->k[j]);
		if (i <= j ? (i < h && h <= j) : (i < h || h <= j))
			continue;       /* its home is after the hole: it stays */
		t->k[i] = t->k[j];
		t->v[i] = t->v[j];
		i = j;
	}
	t->k[i] = 0;
}

/* The index of a, or UINT32_MAX. */
static inline uint32_t hget(const table *t, uint64_t a)
{
	uint32_t s = hslot(t, a);
	return a && t->k[s] ? t->v[s] : UINT32_MAX;
}

/* a -> i (a second block at a: the table names the newer). */
static inline void hput(table *t, uint64_t a, uint32_t i)
{
	if (!a)
		return;         /* 0 marks an empty slot */
	uint32_t s = hslot(t, a);
	t->k[s] = a;
	t->v[s] = i;
}

/* Forgets a when it names i. */
static inline void hforget(table *t, uint64_t a, uint32_t i)
{
	uint32_t s = hslot(t, a);
	if (t->k[s] && t->v[s] == i)
		hdel(t, s);
}

/* a names j now when it named i. */
static inline void hmove(table *t, uint64_t a, uint32_t i, uint32_t j)
{
	uint32_t s = hslot(t, a);
	if (t->k[s] && t->v[s] == i)
		t->v[s] = j;
}

static int rehash(table *t, uint32_t cap)
{
	table n = { calloc(cap, sizeof *n.k), malloc((size_t)cap * sizeof *n.v), cap - 1 };
	if (!n.k || !n.v) {
		free(n.k);
		free(n.v);
		return -1;
	}
	for (uint32_t i = 0; t->k && i <= t->mask; i++)
		if (t->k[i])
			hput(&n, t->k[i], t->v[i]);
	free(t->k);
	free(t->v);
	*t = n;
	return 0;
}

ma_addr_model *ma_addr_model_new(int writer)
{
	ma_addr_model *m = calloc(1, sizeof *m);
	if (m)
		m->writer = writer;
	return m;
}

void ma_addr_model_free(ma_addr_model *m)
{
	if (!m)
		return;
	free(m->live);
	free(m->end);
	free(m->cls);
	free(m->at.k);
	free(m->at.v);
	free(m->ends.k);
	free(m->ends.v);
	free(m);
}

void ma_addr_model_reset(ma_addr_model *m)
{
	if (m->writer)
		for (uint32_t i = 0; i < m->nlive; i++) {
			hforget(&m->at, m->live[i], i);
			hforget(&m->ends, m->end[i], i);
		}
	m->nlive = 0;
	for (unsigned c = 0; c < NCLASS; c++)
		m->freed[c].n = 0;
	m->recent.n = 0;
	m->alloc_guess = m->free_guess = 0;
}

static int grow(void **p, size_t n, size_t elem)
{
	void *q = realloc(*p, n * elem);
	if (q)
		*p = q;
	return q ? 0 : -1;
}

int ma_addr_model_reserve(ma_addr_model *m, size_t n)
{
	size_t need = (size_t)m->nlive + n;
	if (need > MA_MODEL_LIVE_MAX)
		need = MA_MODEL_LIVE_MAX;
	if (need > m->cap) {
		size_t c = m->cap ? 2 * (size_t)m->cap : 1024;
		while (c < need)
			c *= 2;
		if (grow((void **)&m->live, c, sizeof *m->live) < 0 ||
		    grow((void **)&m->end, c, sizeof *m->end) < 0 || grow((void **)&m->cls, c, 1) < 0)
			return -1;
		m->cap = (uint32_t)c;
	}
	/* The tables stay at most half full. */
	if (m->writer && (size_t)m->at.mask + 1 < 2 * (size_t)m->cap)
		return rehash(&m->at, 2 * m->cap) < 0 || rehash(&m->ends, 2 * m->cap) < 0 ? -1 : 0;
	return 0;
}

static inline uint64_t *lifo_at(lifo *l, uint32_t j)
{
	return &l->a[(l->head - 1 - j) & 7];
}

static inline void lifo_push(lifo *l, uint32_t max, uint64_t a)
{
	l->a[l->head++ & 7] = a;
	l->n += l->n < max;
}

/* Takes out the j-th newest: the newer ones move down a place. */
static inline void lifo_drop(lifo *l, uint32_t j)
{
	for (; j > 0; j--)
		*lifo_at(l, j) = *lifo_at(l, j - 1);
	l->head--;
	l->n--;
}

static inline uint32_t lifo_find(lifo *l, uint64_t a)
{
	for (uint32_t j = 0; j < l->n; j++)
		if (*lifo_at(l, j) == a)
			return j;
	return UINT32_MAX;
}

static inline void add_live(ma_addr_model *m, uint64_t a, uint64_t size, unsigned c)
{
	/* At the limit the block is not kept (both sides alike); below it
	 * the room was reserved for the batch. */
	if (!a || m->nlive >= MA_MODEL_LIVE_MAX || m->nlive >= m->cap)
		return;
	uint32_t i = m->nlive++;
	m->live[i] = a;
	m->end[i] = a + chunk(size);
	m->cls[i] = (uint8_t)c;
	if (m->writer) {
		hput(&m->at, a, i);
		hput(&m->ends, m->end[i], i);
	}
}

/* Swap-remove live[i]; the writer's tables follow the block moved. */
static inline void remove_live(ma_addr_model *m, uint32_t i)
{
	uint32_t last = m->nlive - 1;
	if (m->writer) {
		hforget(&m->at, m->live[i], i);
		hforget(&m->ends, m->end[i], i);
	}
	if (i != last) {
		m->live[i] = m->live[last];
		m->end[i] = m->end[last];
		m->cls[i] = m->cls[last];
		if (m->writer) {
			hmove(&m->at, m->live[i], last, i);
			hmove(&m->ends, m->end[i], last, i);
		}
	}
	m->nlive = last;
}

/* The same step on both sides, once the address is known. */
static inline void update(ma_addr_model *m, uint32_t kind, uint64_t size, uint64_t a, uint32_t ref)
{
	if (kind >= 32) {
		if (ref) {
			unsigned c = m->cls[ref - 1];
			lifo_push(&m->freed[c], MA_MODEL_K, a);
			remove_live(m, ref - 1);
		} else {
			m->free_guess = a;
		}
		if (a)
			lifo_push(&m->recent, MA_MODEL_G, a);
		return;
	}
	unsigned c = size_class(size);
	if (ref && ref <= MA_MODEL_K)
		lifo_drop(&m->freed[c], ref - 1);
	uint32_t g = ref > MA_MODEL_K && ref <= MA_MODEL_K + MA_MODEL_G ? ref - MA_MODEL_K - 1
									: lifo_find(&m->recent, a);
	if (g != UINT32_MAX)
		lifo_drop(&m->recent, g);
	if (!ref)
		m->alloc_guess = a + chunk(size);
	add_live(m, a, size, c);
}

static uint64_t guess(const ma_addr_model *m, uint32_t kind)
{
	return kind >= 32 ? m->free_guess : m->alloc_guess;
}

uint32_t ma_addr_model_put(ma_addr_model *m, uint32_t kind, uint64_t size, uint64_t addr,
			   uint32_t shift, int64_t *esc)
{
	uint32_t ref = 0;
	if (kind >= 32) {
		ref = hget(&m->at, addr) + 1;   /* 0 when not found */
	} else if (addr) {
		unsigned c = size_class(size);
		uint32_t k = lifo_find(&m->freed[c], addr);
		if (k == UINT32_MAX && (k = lifo_find(&m->recent, addr)) != UINT32_MAX)
			k += MA_MODEL_K;
		if (k == UINT32_MAX && (k = hget(&m->ends, addr)) != UINT32_MAX)
			k += MA_MODEL_K + MA_MODEL_G;
		ref = k + 1;
	}
	if (!ref)
		*esc = (int64_t)((addr >> shift) - (guess(m, kind) >> shift));
	update(m, kind, size, addr, ref);
	return ref;
}

int ma_addr_model_get(ma_addr_model *m, uint32_t kind, uint64_t size, uint32_t ref, int64_t esc,
		      uint32_t shift, uint64_t *addr)
{
	uint64_t a;
	if (!ref) {
		a = ((guess(m, kind) >> shift) + (uint64_t)esc) << shift;
	} else if (kind >= 32) {
		if (ref > m->nlive)
			return -1;
		a = m->live[ref - 1];
	} else {
		unsigned c = size_class(size);
		if (ref <= m->freed[c].n)
			a = *lifo_at(&m->freed[c], ref - 1);
		else if (ref > MA_MODEL_K && ref - MA_MODEL_K <= m->recent.n)
			a = *lifo_at(&m->recent, ref - MA_MODEL_K - 1);
		else if (ref > MA_MODEL_K + MA_MODEL_G && ref - MA_MODEL_K - MA_MODEL_G <= m->nlive)
			a = m->end[ref - MA_MODEL_K - MA_MODEL_G - 1];
		else
			return -1;
	}
	update(m, kind, size, a, ref);
	*addr = a;
	return 0;
}

/* unwind_cache.c — the thread's native stack at a cost that follows the
 * frames that changed since its previous allocation.
 *
 * A step is a rule looked up by code address in a per-thread table (rules
 * compiled from .eh_frame by eh_rules.c) and two loads: the return
 * address at CFA - 8 and, where the rule says so, the caller's rbp.  The
 * walk is a function of the starting (ip, sp, rbp) and of the words those
 * loads read, nothing else.  So the thread keeps its previous walk (every
 * frame's ip, sp and incoming rbp, and the address and value of every word
 * read), and when the new walk reaches a frame with the same ip and sp
 * (and rbp, when the rest of the walk depends on it) it re-reads the
 * remembered words — independent loads, not a chain — and when they are
 * all unchanged the rest of the walk is the remembered one, exactly.
 * Unusual frames (no FDE, CFA expressions, signal frames) send the whole
 * walk to libunwind.  The walk is kept right-aligned in its arrays, so
 * that the outer frames stay where they are and a new walk rewrites only
 * its inner ones.
 *
 * A few walks are kept, and which is kept decides what later walks can
 * join: in a recursion of changing depth the deepest walk lets every
 * shallower call join it after its few innermost frames, so a walk is
 * replaced only by one at least as deep along its path; a shallower one
 * is copied out, its stack id remembered by (walk, join frame, new
 * frames) while the walk is unchanged; another path gets a walk of its
 * own.  A table by stack pointer says where each kept walk has a frame,
 * so the new walk asks once a frame. */
#include <stdlib.h>
#include <string.h>
#include "agent_internal.h"
#include "unwind_cache.h"

#define MAXF (MA_MAX_DEPTH + 16)
#define RULES_BITS 10
#define RULES (1u << RULES_BITS)
#define MAX_FRAME_BYTES (1u << 20)
#define F_CFA_RBP 1
#define F_RBP_SAVED 2
#define F_DEP 4              /* the walk from this frame on reads rbp */

struct rule_slot {
	uintptr_t pc;         /* 0: empty */
	struct ma_eh_rule r;
	uint8_t bad;
};

/* A word a step read: where, and what it held. */
struct word {
	uintptr_t at, val;
};

/* The new walk's frames, from 0: each frame's two reads (at 0: none). */
struct frames {
	uintptr_t ip[MAXF], sp[MAXF], rbp[MAXF];
	struct word ra[MAXF];         /* the return address */
	struct word rbp_saved[MAXF];  /* the caller's rbp */
	uint8_t flags[MAXF];
};

/* A kept walk's frames, right-aligned; the words they read are one
 * list, right-aligned too (frame i's from word[word_of[i]] on), so that
 * confirming the frames from q out is one branchless pass. */
#define WORDS (2 * MAXF)
struct kept_frames {
	uintptr_t ip[MAXF], sp[MAXF], rbp[MAXF];
	struct word word[WORDS];
	uint16_t word_of[MAXF + 1];   /* [MAXF] == WORDS */
	uint8_t flags[MAXF];
};

/* The last few walks, each right-aligned in its arrays: a program that
 * moves between a few call paths finds its outer frames in one of them. */
#define WALKS 4
/* New frames before a join that make a walk worth keeping apart. */
#define KEEP_NEW 4

/* The stack ids of results kept in no walk: a few new frames in front of
 * a kept walk, from its frame q on, as long as the walk is unchanged. */
#define RES_BITS 9
#define RES_SLOTS (1u << RES_BITS)
/* A stack id known for a result's frames, and the tag it was found with
 * (the Python frames merged into it, stack_table.c; 0: none). */
struct known_id {
	uint64_t tag;
	uint32_t id;
};

struct res_slot {
	uint64_t stamp;       /* the walk's stamp at q when the id was found */
	struct known_id id;
	uint16_t q;
	uint8_t j, k;
	uintptr_t ip[KEEP_NEW - 1];
};

/* Where the kept walks have a frame, by its sp: the new walk asks once a
 * frame instead of searching every kept walk (a hint, checked). */
#define AT_BITS 9
#define AT_SLOTS (1u << AT_BITS)
#define AT_SLOT(sp) (((sp) >> 4) & (AT_SLOTS - 1))

struct walk {
	struct known_id last_id;   /* of these frames, id 0: unknown */
	/* A stamp per frame, new whenever its code address or one inside it
	 * changed: a walk is rewritten from its inner end up to the frame a
	 * new walk joined, so the same stamp at q means the same addresses
	 * from q out (a copied-out result's id holds). */
	uint64_t stamp[MAXF];
	/* hsum[i]: the sum of the hash terms of frames i.. (agent_internal.h,
	 * ma_hash_stack_sum), positions counted from the outer end. */
	uint64_t hsum[MAXF + 1];
	int base;             /* first (innermost) cached frame; MAXF: none */
	int trunc, max;       /* the walk stopped at max frames */
	uintptr_t stop;       /* the stop's hi it was walked with (0: none) */
	struct kept_frames c;
};

struct uw_thread {
	unsigned gen;
	struct known_id *id;  /* where the last result's stack id is kept, or NULL */
	unsigned clock;       /* counts walks, for the walks' last use */
	uint64_t stamps;      /* the last stamp handed out */
	unsigned used[WALKS]; /* each walk's last use */
	struct walk w[WALKS];
	struct frames n;      /* the new frames of this walk, from 0 */
	uintptr_t res[MAXF];  /* a result kept in no walk, right-aligned */
	int res_j, res_q, res_k; /* what res holds, or is to hold (lazily) */
	int last_walk;        /* the last result: walk last_walk's frames, -1: res */
	struct res_slot rs[RES_SLOTS];
	uint16_t at_sp[AT_SLOTS][WALKS]; /* by a frame's sp: its index in each walk */
	struct rule_slot rules[RULES];
};

static atomic_uint uw_gen = 1;
int ma_unwind_check;

void ma_unwind_forget(void)
{
	atomic_fetch_add(&uw_gen, 1);
}

static struct uw_thread *state(void)
{
	struct ma_thread *t = ma_thread_self();
	if (!t)
		return NULL;
	struct uw_thread *u = t->unwind;
	if (!u) {
		u = t->unwind = ma_arena_alloc(sizeof(*u));
		if (!u)
			return NULL;
		ma_unwind_thread_reset(u);
	}
	unsigned g = atomic_load_explicit(&uw_gen, memory_order_relaxed);
	if (u->gen != g) {
		memset(u->rules, 0, sizeof(u->rules));
		ma_unwind_thread_reset(u);
		u->gen = g;
	}
	return u;
}

/* Two ways a set: a program's hot code addresses are few, but with one
 * way a pair of them that shares a slot (which depends on where the
 * object was loaded) compiled its rules again on every walk. */
static __attribute__((noinline)) const struct rule_slot *rule_miss(struct rule_slot *s,
								      uintptr_t pc)
{
	if (s[1].pc != pc) {
		s[1].pc = pc;
		s[1].bad = ma_eh_rule(pc, &s[1].r) < 0;
	}
	struct rule_slot t = s[1];   /* the most recent first */
	s[1] = s[0];
	s[0] = t;
	return &s[0];
}

static inline const struct rule_slot *rule_of(struct uw_thread *u, uintptr_t pc)
{
	uint64_t h = (pc ^ (pc >> 17)) * 0x9e3779b97f4a7c15ull;
	struct rule_slot *s = &u->rules[(h >> (64 - RULES_BITS)) & (RULES - 2)];
	if (__builtin_expect(s[0].pc == pc, 1))
		return &s[0];
	return rule_miss(s, pc);
}

/* One step from (ip, sp, rbp) to the caller's; records frame k's reads in
 * f.  0: stepped; 1: this was the outermost frame; -1: unusual frame. */
static inline __attribute__((always_inline)) int step(struct uw_thread *u, struct frames *f, int k, uintptr_t *ip, uintptr_t *sp,
		uintptr_t *rbp)
{
	const struct rule_slot *s = rule_of(u, *ip - 1);
	if (s->bad)
		return -1;
	uintptr_t cfa = (s->r.cfa_rbp ? *rbp : *sp) + (uintptr_t)(intptr_t)s->r.cfa_off;
	if (cfa <= *sp || cfa - *sp > MAX_FRAME_BYTES || (cfa & 7))
		return -1;
	f->flags[k] = (s->r.cfa_rbp ? F_CFA_RBP : 0) | (s->r.rbp_saved ? F_RBP_SAVED : 0);
	f->rbp_saved[k].at = 0;
	if (s->r.rbp_saved) {
		uintptr_t at = cfa + (uintptr_t)(intptr_t)s->r.rbp_off;
		f->rbp_saved[k] = (struct word){ at, *rbp = *(const uintptr_t *)at };
	}
	if (s->r.end) {
		f->ra[k].at = 0;
		return 1;
	}
	*ip = *(const uintptr_t *)(cfa - 8);
	f->ra[k] = (struct word){ cfa - 8, *ip };
	*sp = cfa;
	return *ip ? 0 : 1;
}

/* Whether every word the cached walk read from frame q on still holds
 * what it held. */
static int still_valid(const struct kept_frames *c, int q)
{
	uintptr_t bad = 0, bad2 = 0;
	const struct word *w = &c->word[c->word_of[q]], *end = &c->word[WORDS];
	if ((end - w) & 1)
		bad = *(const uintptr_t *)w->at ^ w->val, w++;
	for (; w < end; w += 2) {   /* two at a time: half the loop's own work */
		bad |= *(const uintptr_t *)w[0].at ^ w[0].val;
		bad2 |= *(const uintptr_t *)w[1].at ^ w[1].val;
	}
	return !(bad | bad2);
}

/* A word that is always 0: what a dropped read is checked against. */
static const uintptr_t zero_word;

/* The words new frame i read, into the kept list before index e; the
 * new start. */
static int put_words(struct kept_frames *c, const struct frames *n, int i, int e)
{
	if (n->rbp_saved[i].at)
		c->word[--e] = n->rbp_saved[i];
	if (n->ra[i].at)
		c->word[--e] = n->ra[i];
	return e;
}

/* The new frames 0..k go in front of cached frame q (k == 0 and
 * q == MAXF: a walk of its own); whether the result equals the old. */
static int place(struct uw_thread *u, int j, int k, int q)
{
	struct walk *w = &u->w[j];
	const struct frames *n = &u->n;
	int base = q - k, same = base == w->base;
	struct kept_frames *c = &w->c;
	int e = q < MAXF ? c->word_of[q] : WORDS;
	for (int i = k - 1; i >= 0; i--) {
		int m = base + i;
		w->hsum[m] = w->hsum[m + 1] + ma_hash_term(n->ip[i], (uint32_t)(MAXF - 1 - m));
		u->at_sp[AT_SLOT(n->sp[i])][j] = (uint16_t)(base + i);
		same &= c->ip[base + i] == n->ip[i];
		c->ip[base + i] = n->ip[i];
		c->sp[base + i] = n->sp[i];
		c->rbp[base + i] = n->rbp[i];
		c->flags[base + i] = n->flags[i];
		c->word_of[base + i] = (uint16_t)(e = put_words(c, n, i, e));
	}
	/* Which frames' walks read the incoming rbp: those whose CFA is rbp
	 * based, or that leave rbp as it is to a frame that reads it. */
	int dep = q < MAXF ? (c->flags[q] & F_DEP) != 0 : 1;
	for (int i = q - 1; i >= base; i--) {
		uint8_t fl = c->flags[i];
		dep = (fl & F_CFA_RBP) || (!(fl & F_RBP_SAVED) && dep);
		c->flags[i] = (uint8_t)((fl & ~F_DEP) | (dep ? F_DEP : 0));
	}
	w->base = base;
	if (!same) {
		w->last_id.id = 0;
		uint64_t st = ++u->stamps;
		for (int i = base; i < q; i++)
			w->stamp[i] = st;
	}
	return same;
}

/* Whether the new walk, at frame k with (ip, sp, rbp), goes on as walk w
 * does from its frame q. */
static int joins(const struct walk *w, int q, int k, int max, uintptr_t stop, uintptr_t ip,
		 uintptr_t sp, uintptr_t rbp)
{
	const struct kept_frames *c = &w->c;
	if (q >= MAXF || c->sp[q] != sp || c->ip[q] != ip || w->stop != stop ||
	    ((c->flags[q] & F_DEP) && c->rbp[q] != rbp))
		return 0;
	if (w->trunc ? w->max != max || q - w->base != k : k + MAXF - q > max)
		return 0;
	return still_valid(c, q);
}

/* The least recently used walk other than j. */
static int victim(const struct uw_thread *u, int j)
{
	int v = -1;
	for (int i = 0; i < WALKS; i++)
		if (i != j && (v < 0 || (int)(u->used[i] - u->used[v]) < 0))
			v = i;
	return v;
}

/* Walk w's frames from q out, into walk d at the same places. */
static void copy_outer(struct uw_thread *u, struct walk *d, const struct walk *w, int q)
{
	size_t n = (size_t)(MAXF - q), b = n * sizeof(uintptr_t);
	memcpy(&d->c.ip[q], &w->c.ip[q], b);
	memcpy(&d->c.sp[q], &w->c.sp[q], b);
	memcpy(&d->c.rbp[q], &w->c.rbp[q], b);
	memcpy(&d->c.flags[q], &w->c.flags[q], n);
	memcpy(&d->hsum[q], &w->hsum[q], (n + 1) * sizeof(d->hsum[0]));
	memcpy(&d->c.word_of[q], &w->c.word_of[q], (n + 1) * sizeof(d->c.word_of[0]));
	int e = w->c.word_of[q];
	memcpy(&d->c.word[e], &w->c.word[e], (size_t)(WORDS - e) * sizeof(d->c.word[0]));
	d->base = q;
	d->trunc = w->trunc;
	d->max = w->max;
	d->stop = w->stop;
	d->last_id.id = 0;
	uint64_t st = ++u->stamps;
	for (int i = q; i < MAXF; i++)
		d->stamp[i] = st;
}

static int res_is(const struct res_slot *r, uint64_t stamp, int j, int q, int k, const uintptr_t *ip)
{
	int hit = r->stamp == stamp && r->j == j && r->q == q && r->k == k;
	for (int i = 0; i < k; i++)
		hit &= r->ip[i] == ip[i];
	return hit;
}

/* The result slot of the new frames 0..k in front of walk j's frame q
 * (two ways a set, the most recent first): its id holds when the key is
 * the same, else 0. */
static struct res_slot *res_slot(struct uw_thread *u, int j, int q, int k)
{
	uint64_t h = (uint64_t)q << 8 | (uint64_t)j << 4 | (uint64_t)k;
	for (int i = 0; i < k; i++)
		h = (h ^ u->n.ip[i]) * 0x9e3779b97f4a7c15ull;
	struct res_slot *set = &u->rs[(h >> 40) & (RES_SLOTS - 2)], t;
	uint64_t stamp = u->w[j].stamp[q];
	if (res_is(&set[0], stamp, j, q, k, u->n.ip))
		return &set[0];
	if (res_is(&set[1], stamp, j, q, k, u->n.ip)) {
		t = set[1];
	} else {
		t.stamp = stamp;
		t.j = (uint8_t)j;
		t.q = (uint16_t)q;
		t.k = (uint8_t)k;
		memcpy(t.ip, u->n.ip, (size_t)k * sizeof(t.ip[0]));
		t.id.id = 0;
	}
	set[1] = set[0];
	set[0] = t;
	return &set[0];
}

/* The result kept in no walk, in res: the new frames and walk res_j's
 * from res_q out. */
static const uint64_t *res_frames(struct uw_thread *u)
{
	int q = u->res_q, k = u->res_k;
	uintptr_t *r = &u->res[q - k];
	memcpy(r, u->n.ip, (size_t)k * sizeof(*r));
	memcpy(&u->res[q], &u->w[u->res_j].c.ip[q], (size_t)(MAXF - q) * sizeof(*r));
	return (const uint64_t *)r;
}

/* The new walk's k frames joined walk j at its frame q.  What is kept
 * decides what later walks can join: a walk is replaced only by one that
 * loses none of its depth (a recursion that went deeper, the same path);
 * a walk that shares only its outer frames with j (another path) gets a
 * walk of its own; a shallower walk along j's path (a few new frames that
 * join j inside its inner ones) is only copied out, so that j stays for
 * the deeper calls still to come. */
static int joined(struct uw_thread *u, int j, int q, int k, const uint64_t **frames, int *same,
		  int lazy)
{
	struct walk *w = &u->w[j];
	int lost = q - w->base;
	u->used[j] = ++u->clock;
	if (lost > k && k < KEEP_NEW) {
		struct res_slot *rs = res_slot(u, j, q, k);
		u->id = &rs->id;
		*same = rs->id.id != 0;
		u->res_j = j;
		u->res_q = q;
		u->res_k = k;
		u->last_walk = -1;
		/* A known id needs no frames: they are copied when asked for. */
		*frames = *same && lazy ? NULL : res_frames(u);
		return MAXF - (q - k);
	}
	if (lost > k) {
		int v = victim(u, j);
		copy_outer(u, &u->w[v], w, q);
		for (int i = q; i < MAXF; i++)
			u->at_sp[AT_SLOT(w->c.sp[i])][v] = (uint16_t)i;
		j = v;
		w = &u->w[v];
		u->used[j] = u->clock;
	}
	*same = place(u, j, k, q);
	u->id = &w->last_id;
	u->last_walk = j;
	*frames = (const uint64_t *)&w->c.ip[w->base];
	return MAXF - w->base;
}

static int agent_frame(uintptr_t ip, uintptr_t lo, uintptr_t hi)
{
	return ip >= lo && ip < hi;
}

/* Kept apart so that its frame is a plain one with a frame pointer: the
 * walk starts at its return address and CFA. */
__attribute__((noinline)) int ma_unwind_user(const uint64_t **frames, int max, uintptr_t agent_lo,
					     uintptr_t agent_hi, int *same, uintptr_t hook_fp, int lazy,
					     const struct ma_unwind_stop *stop)
{
	struct uw_thread *u = state();
	if (!u || max <= 0 || max > MAXF)
		return -1;
	uintptr_t stop_lo = stop ? stop->lo : 0, stop_hi = stop ? stop->hi : 0;
	/* From the hook's frame when given (its caller's return address,
	 * stack pointer and rbp), else from this one: then the agent's own
	 * frames in between are stepped over. */
	uintptr_t fp = hook_fp ? hook_fp : (uintptr_t)__builtin_frame_address(0);
	uintptr_t ip = *(const uintptr_t *)(fp + 8);
	uintptr_t sp = fp + 16, rbp = *(const uintptr_t *)fp;
	int r = 0, k = 0;
	while (agent_frame(ip, agent_lo, agent_hi) && r == 0)
		r = step(u, &u->n, 0, &ip, &sp, &rbp);
	if (r < 0)
		goto fallback;
	if (r == 0) {
		while (k < max) {
			const uint16_t *at = u->at_sp[AT_SLOT(sp)];
			for (int j = 0; j < WALKS; j++)
				if (at[j] >= u->w[j].base &&
				    joins(&u->w[j], at[j], k, max, stop_hi, ip, sp, rbp)) {
					return joined(u, j, at[j], k, frames, same, lazy);
				}
			u->n.ip[k] = ip;
			u->n.sp[k] = sp;
			u->n.rbp[k] = rbp;
			if (ma_unwind_stop_at(stop_lo, stop_hi, ip)) {
				/* The stop: the last frame, and nothing read past
				 * it (nor its rbp: the walk's end reads none). */
				u->n.ra[k].at = u->n.rbp_saved[k].at = 0;
				u->n.flags[k] = F_RBP_SAVED;
				k++;
				r = 1;
				break;
			}
			r = step(u, &u->n, k, &ip, &sp, &rbp);
			if (r < 0)
				goto fallback;
			k++;
			if (r)
				break;
		}
	} else {
		/* the agent's frames were all there is: nothing of the user's */
		k = 0;
	}
	/* A walk of its own: it replaces the oldest. */
	int j = victim(u, -1);
	struct walk *w = &u->w[j];
	u->used[j] = ++u->clock;
	w->trunc = r == 0 && k == max;
	w->max = max;
	w->stop = stop_hi;
	w->base = MAXF;
	*same = place(u, j, k, MAXF) && k;
	if (w->trunc) {   /* what lies past the last frame is not part of it */
		for (int e = w->c.word_of[MAXF - 1]; e < WORDS; e++)
			w->c.word[e] = (struct word){ (uintptr_t)&zero_word, 0 };
	}
	u->id = &w->last_id;
	u->last_walk = j;
	*frames = (const uint64_t *)&w->c.ip[w->base];
	return k;
fallback:
	u->id = NULL;
	return -1;
}

const uint64_t *ma_unwind_frames(void)
{
	return res_frames(ma_tls.thr->unwind);
}

uint64_t ma_unwind_hash_sum(void)
{
	const struct uw_thread *u = ma_tls.thr->unwind;
	if (u->last_walk >= 0)
		return u->w[u->last_walk].hsum[u->w[u->last_walk].base];
	int q = u->res_q, k = u->res_k;
	uint64_t sum = u->w[u->res_j].hsum[q];
	for (int i = 0; i < k; i++)
		sum += ma_hash_term(u->n.ip[i], (uint32_t)(MAXF - 1 - (q - k + i)));
	return sum;
}

uint32_t ma_unwind_last_id(uint64_t tag)
{
	struct ma_thread *t = ma_tls.thr;
	struct uw_thread *u = t ? t->unwind : NULL;
	if (!u || !u->id || u->gen != atomic_load_explicit(&uw_gen, memory_order_relaxed) ||
	    u->id->tag != tag)
		return 0;
	return u->id->id;
}

void ma_unwind_set_last_id(uint32_t id, uint64_t tag)
{
	struct ma_thread *t = ma_tls.thr;
	struct uw_thread *u = t ? t->unwind : NULL;
	if (u && u->id)
		*u->id = (struct known_id){ tag, id };
}

void ma_unwind_thread_reset(void *unwind)
{
	struct uw_thread *u = unwind;
	if (!u)
		return;
	for (int j = 0; j < WALKS; j++) {
		u->w[j].c.word_of[MAXF] = WORDS;   /* the ends, never rewritten */
		u->w[j].hsum[MAXF] = 0;
		u->w[j].base = MAXF;
		u->w[j].last_id.id = 0;
	}
	u->id = NULL;
}

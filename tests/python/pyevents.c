/* pyevents.c — prints every allocation of a capture whose stack holds
 * Python frames, one line each, for the Python integration tests:
 *   SIZE <tab> TID <tab> PYFRAMES <tab> MIXED <tab> KIND
 * PYFRAMES: the Python frames innermost first, "function file:line" joined
 * by '|' (file reduced to its base name); MIXED: every frame, Python ones
 * as "py:function" and native ones as their symbol ("?" when unknown).
 * Usage: pyevents CAPTURE [MIN_SIZE]
 * pyevents --threads CAPTURE: each thread's name as reports show it (its
 * last non-empty ThreadInfo name), one "TID <tab> NAME" line per thread;
 * a capture still being written is read up to its last whole record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "record_io.h"
#include "cli/analysis/replay.h"

#define MAXN 65536

struct pyf { uint32_t id; char *fn, *file; uint32_t line; };
struct stk { uint32_t id, n; uint64_t *f; };
struct sym { uint64_t addr; char *fn; };

static struct pyf *pyfs; static size_t npyf;
static struct stk *stks; static size_t nstk;
static struct sym *syms; static size_t nsym;
static uint64_t min_size;
static struct { uint64_t size; uint32_t tid, stack, kind; } *evs;
static size_t nev, cap_ev;

static void *grow(void *p, size_t n, size_t sz)
{
	if (n && (n & (n - 1)))
		return p;   /* grow at powers of two */
	p = realloc(p, (n ? n * 2 : 16) * sz);
	if (!p) {
		fprintf(stderr, "pyevents: out of memory\n");
		exit(2);
	}
	return p;
}

static char *dup(const char *s) { return strdup(s ? s : "?"); }

static void on_pyframe(void *c, const Memattach__PythonFrame *f)
{
	(void)c;
	pyfs = grow(pyfs, npyf, sizeof(*pyfs));
	const char *base = f->file ? strrchr(f->file, '/') : NULL;
	pyfs[npyf++] = (struct pyf){ f->id, dup(f->function), dup(base ? base + 1 : f->file), f->line };
}

static void on_stack(void *c, const Memattach__Stack *s)
{
	(void)c;
	stks = grow(stks, nstk, sizeof(*stks));
	uint64_t *f = malloc((s->n_frames + 1) * sizeof(uint64_t));
	memcpy(f, s->frames, s->n_frames * sizeof(uint64_t));
	stks[nstk++] = (struct stk){ s->id, (uint32_t)s->n_frames, f };
}

static void on_symbol(void *c, const Memattach__Symbol *s)
{
	(void)c;
	syms = grow(syms, nsym, sizeof(*syms));
	syms[nsym++] = (struct sym){ s->address, dup(s->function) };
}

static void on_event(void *c, const ma_event *e)
{
	(void)c;
	if (e->kind == 0 || e->kind >= 32 || e->size < min_size || !e->stack)
		return;
	if (nev == cap_ev) {
		cap_ev = cap_ev ? cap_ev * 2 : 1024;
		evs = realloc(evs, cap_ev * sizeof(*evs));
		if (!evs)
			exit(2);
	}
	evs[nev].size = e->size;
	evs[nev].tid = e->tid;
	evs[nev].kind = e->kind;
	evs[nev++].stack = e->stack;
}

static struct { uint32_t tid; char *name; } *thr;
static size_t nthr;

static void on_thread(void *c, const Memattach__ThreadInfo *t)
{
	(void)c;
	if (!t->name || !*t->name)
		return;
	size_t i = 0;
	while (i < nthr && thr[i].tid != t->tid)
		i++;
	if (i == nthr) {
		thr = grow(thr, nthr, sizeof(*thr));
		thr[nthr++].tid = t->tid;
	} else {
		free(thr[i].name);
	}
	thr[i].name = dup(t->name);
}

static int print_threads(const char *path)
{
	char err[256];
	ma_replay_ops ops = { .thread = on_thread };
	ma_replay_result res;
	if (ma_replay_file(path, &ops, NULL, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "pyevents: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < nthr; i++)
		printf("%u\t%s\n", thr[i].tid, thr[i].name);
	return 0;
}

static const struct pyf *find_py(uint32_t id)
{
	for (size_t i = 0; i < npyf; i++)
		if (pyfs[i].id == id)
			return &pyfs[i];
	return NULL;
}

static const char *find_sym(uint64_t a)
{
	for (size_t i = 0; i < nsym; i++)
		if (syms[i].addr == a)
			return syms[i].fn;
	return "?";
}

static const struct stk *find_stack(uint32_t id)
{
	for (size_t i = 0; i < nstk; i++)
		if (stks[i].id == id)
			return &stks[i];
	return NULL;
}

int main(int argc, char **argv)
{
	char err[256];
	if (argc < 2) {
		fprintf(stderr, "usage: pyevents CAPTURE [MIN_SIZE] | pyevents --threads CAPTURE\n");
		return 2;
	}
	if (!strcmp(argv[1], "--threads"))
		return argc == 3 ? print_threads(argv[2]) : 2;
	min_size = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	ma_replay_ops ops = { .event = on_event, .stack = on_stack,
			      .python_frame = on_pyframe, .symbol = on_symbol };
	ma_replay_result res;
	if (ma_replay_file(argv[1], &ops, NULL, &res, err, sizeof(err)) < 0) {
		fprintf(stderr, "pyevents: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < nev; i++) {
		const struct stk *s = find_stack(evs[i].stack);
		if (!s)
			continue;
		int any = 0;
		for (uint32_t k = 0; k < s->n; k++)
			any |= (s->f[k] & MA_FRAME_PYTHON_BIT) != 0;
		if (!any)
			continue;
		printf("%llu\t%u\t", (unsigned long long)evs[i].size, evs[i].tid);
		const char *sep = "";
		for (uint32_t k = 0; k < s->n; k++) {
			if (!(s->f[k] & MA_FRAME_PYTHON_BIT))
				continue;
			const struct pyf *p = find_py((uint32_t)s->f[k]);
			if (p)
				printf("%s%s %s:%u", sep, p->fn, p->file, p->line);
			else
				printf("%s<unknown %u>", sep, (uint32_t)s->f[k]);
			sep = "|";
		}
		printf("\t");
		sep = "";
		for (uint32_t k = 0; k < s->n; k++) {
			if (s->f[k] & MA_FRAME_PYTHON_BIT) {
				const struct pyf *p = find_py((uint32_t)s->f[k]);
				printf("%spy:%s", sep, p ? p->fn : "?");
			} else {
				printf("%s%s", sep, find_sym(s->f[k]));
			}
			sep = "|";
		}
		printf("\t%s\n", ma_kind_name(evs[i].kind));
	}
	return 0;
}

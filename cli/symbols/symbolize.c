/* symbolize.c — native addresses of a capture to Symbol records (function,
 * file:line, inlined frames), with elfutils' libdwfl.  Each distinct address
 * is looked up once; each module is opened once and each of its compile
 * units indexed once (function ranges, sorted), so a lookup is a binary
 * search plus a walk down the few blocks of one function. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "record_io.h"
#include "record_limits.h"
#include "cli/symbols/symbol_cache.h"
#include "cli/symbols/symbolize.h"
#include "cli/symbols/target_files.h"
#include "cli/util/u64map.h"

/* libstdc++'s demangler (Debian libstdc++6). */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define MAX_INLINE 64

/* Values of the address map besides module indices (its empty value is
 * UINT32_MAX). */
#define ADDR_UNRESOLVED (UINT32_MAX - 1)
#define ADDR_DONE (UINT32_MAX - 2)

struct seg {
	uint64_t start, end;
};

struct mod {
	uint64_t base;
	char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	struct seg *segs;
	size_t nsegs;
	int live;
};


struct fn_range {
	Dwarf_Addr lo, hi;
	Dwarf_Off die;
};

struct cu_index {
	Dwarf_Off cu;
	struct fn_range *r;
	size_t n;
};

/* A module's function symbols by address, for addresses without DWARF:
 * libdwfl's dwfl_module_addrinfo scans the whole symbol table on every
 * call (10-20 ms for a few hundred addresses in python3, seconds for a
 * large C++ binary and thousands of addresses). */
struct sym {
	GElf_Addr lo, size;
	const char *name;           /* libdwfl's, valid while the Dwfl lives */
	int rank;                   /* 0 global, 1 weak, 2 local */
};

struct modctx {
	const struct mod *md;
	Dwfl_Module *m;             /* NULL: file not found, module+offset only */
	struct cu_index *cus;      /* sorted by cu */
	size_t ncus, capcus;
	struct sym *syms;          /* sorted by lo, then rank */
	size_t nsyms;
	int syms_read;
};

struct ctx {
	struct mod *mods;
	size_t nmods, capmods;
	ma_u64map addrs;         /* address -> module index or ADDR_* */
	ma_capture_writer *w;
	char *debuginfo_path;
	Dwfl_Callbacks cb;
	char *err;
	size_t errlen;
};

static int oom(struct ctx *c)
{
	snprintf(c->err, c->errlen, "out of memory while symbolizing");
	return -1;
}

static int add_module(struct ctx *c, const Memattach__Module *mm)
{
	if (c->nmods == c->capmods) {
		size_t cap = c->capmods ? c->capmods * 2 : 64;
		struct mod *g = realloc(c->mods, cap * sizeof *g);
		if (!g)
			return oom(c);
		c->mods = g;
		c->capmods = cap;
	}
	struct mod *m = &c->mods[c->nmods];
	memset(m, 0, sizeof *m);
	m->base = mm->load_address;
	m->path = strdup(mm->path ? mm->path : "");
	m->segs = calloc(mm->n_segments ? mm->n_segments : 1, sizeof *m->segs);
	if (!m->path || !m->segs) {
		free(m->path);
		free(m->segs);
		return oom(c);
	}
	for (size_t i = 0; i < mm->n_segments; i++)
		m->segs[i] = (struct seg){ mm->segments[i]->start, mm->segments[i]->end };
	m->nsegs = mm->n_segments;
	if (mm->build_id.len <= sizeof m->build_id) {
		memcpy(m->build_id, mm->build_id.data, mm->build_id.len);
		m->build_id_len = mm->build_id.len;
	}
	m->live = 1;
	c->nmods++;
	return 0;
}

static int mod_has(const struct mod *m, uint64_t a)
{
	for (size_t i = 0; i < m->nsegs; i++)
		if (a >= m->segs[i].start && a < m->segs[i].end)
			return 1;
	return 0;
}

/* The newest module holding a (live ones only, or any). */
static uint32_t find_module(const struct ctx *c, uint64_t a, int live_only)
{
	for (size_t i = c->nmods; i-- > 0;)
		if ((!live_only || c->mods[i].live) && mod_has(&c->mods[i], a))
			return (uint32_t)i;
	return ADDR_UNRESOLVED;
}

/* A ModuleUnload: stacks after it no longer resolve into that module. */
static void note_unload(struct ctx *c, uint64_t load_address)
{
	for (size_t i = c->nmods; i-- > 0;)
		if (c->mods[i].live && c->mods[i].base == load_address) {
			c->mods[i].live = 0;
			return;
		}
}

/* A Stack's native addresses, each with the live module holding it. */
static int note_stack(struct ctx *c, const Memattach__Stack *st)
{
	for (size_t i = 0; i < st->n_frames; i++) {
		uint64_t a = st->frames[i];
		if (!a || (a & MA_FRAME_PYTHON_BIT))
			continue;
		uint32_t *v = ma_u64map_slot(&c->addrs, a);
		if (!v)
			return oom(c);
		if (*v == UINT32_MAX || *v == ADDR_UNRESOLVED)
			*v = find_module(c, a, 1);
	}
	return 0;
}

/* Reads the capture: modules, stack addresses, symbols already there. */
static int collect(struct ctx *c, const char *path)
{
	ma_capture_reader *r = ma_capture_reader_open(path, c->err, c->errlen);
	if (!r)
		return -1;
	ma_capture_reader_skip(r, MEMATTACH__RECORD__R_EVENTS);   /* most of it */
	Memattach__Record *rec;
	int k, rc = 0;
	while (rc == 0 && (k = ma_capture_reader_next(r, &rec)) > 0) {
		switch (rec->r_case) {
		case MEMATTACH__RECORD__R_MODULE:
			rc = add_module(c, rec->module);
			break;
		case MEMATTACH__RECORD__R_MODULE_UNLOAD:
			note_unload(c, rec->module_unload->load_address);
			break;
		case MEMATTACH__RECORD__R_STACK:
			rc = note_stack(c, rec->stack);
			break;
		case MEMATTACH__RECORD__R_SYMBOL: {
			uint32_t *v = ma_u64map_slot(&c->addrs, rec->symbol->address);
			if (!v)
				rc = oom(c);
			else
				*v = ADDR_DONE;
			break;
		}
		default:
			break;
		}
		ma_capture_record_free(rec);
	}
	if (rc == 0 && k < 0) {
		snprintf(c->err, c->errlen, "%s", ma_capture_reader_error(r));
		rc = -1;
	}
	ma_capture_reader_close(r);
	return rc;
}

/* ---- names ---- */

static char *demangle(const char *s)
{
	if (!s || s[0] != '_' || s[1] != 'Z')
		return NULL;
	int status = 0;
	char *d = __cxa_demangle(s, NULL, NULL, &status);
	if (status != 0) {
		free(d);
		return NULL;
	}
	if (strlen(d) > MA_MAX_STRING)
		d[MA_MAX_STRING] = 0;   /* a reader refuses longer strings */
	return d;
}

/* The function's readable name: demangled linkage name, else DW_AT_name
 * (both through abstract origins and specifications).  *owned is set when
 * the result was allocated. */
static const char *die_name(Dwarf_Die *d, char **owned)
{
	Dwarf_Attribute at;
	const char *link = NULL, *name = NULL;
	*owned = NULL;
	if (dwarf_attr_integrate(d, DW_AT_linkage_name, &at) ||
	    dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &at))
		link = dwarf_formstring(&at);
	if (link && (*owned = demangle(link)))
		return *owned;
	if (dwarf_attr_integrate(d, DW_AT_name, &at))
		name = dwarf_formstring(&at);
	return name ? name : link;
}

/* ---- per compile unit function index ---- */

static int push_range(struct cu_index *ci, size_t *cap, Dwarf_Addr lo, Dwarf_Addr hi, Dwarf_Off off)
{
	if (ci->n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct fn_range *g = realloc(ci->r, nc * sizeof *g);
		if (!g)
			return -1;
		ci->r = g;
		*cap = nc;
	}
	ci->r[ci->n++] = (struct fn_range){ lo, hi, off };
	return 0;
}

/* Concrete functions (with code) of a DIE's children; namespaces and
 * classes can hold definitions, so they are walked too. */
static int index_children(struct cu_index *ci, size_t *cap, Dwarf_Die *parent, int depth)
{
	Dwarf_Die ch;
	if (dwarf_child(parent, &ch) != 0)
		return 0;
	do {
		switch (dwarf_tag(&ch)) {
		case DW_TAG_subprogram: {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;
			while ((off = dwarf_ranges(&ch, off, &base, &lo, &hi)) > 0)
				if (hi > lo && push_range(ci, cap, lo, hi, dwarf_dieoffset(&ch)) < 0)
					return -1;
			break;
		}
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			if (depth < 64 && index_children(ci, cap, &ch, depth + 1) < 0)
				return -1;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&ch, &ch) == 0);
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct fn_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The function index of a CU, built on first use.  NULL: no memory. */
static struct cu_index *cu_index_of(struct modctx *mc, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	size_t lo = 0, hi = mc->ncus;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (mc->cus[mid].cu < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < mc->ncus && mc->cus[lo].cu == off)
		return &mc->cus[lo];
	if (mc->ncus == mc->capcus) {
		size_t nc = mc->capcus ? mc->capcus * 2 : 16;
		struct cu_index *g = realloc(mc->cus, nc * sizeof *g);
		if (!g)
			return NULL;
		mc->cus = g;
		mc->capcus = nc;
	}
	struct cu_index ci = { off, NULL, 0 };
	size_t cap = 0;
	if (index_children(&ci, &cap, cudie, 0) < 0) {
		free(ci.r);
		return NULL;
	}
	qsort(ci.r, ci.n, sizeof *ci.r, cmp_range);
	memmove(&mc->cus[lo + 1], &mc->cus[lo], (mc->ncus - lo) * sizeof *mc->cus);
	mc->cus[lo] = ci;
	mc->ncus++;
	return &mc->cus[lo];
}

/* The innermost function range holding pc (a DWARF address). */
static const struct fn_range *find_fn(const struct cu_index *ci, Dwarf_Addr pc)
{
	size_t lo = 0, hi = ci->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ci->r[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges of nested functions may start before ours: look back a bit */
	for (size_t i = lo, k = 0; i-- > 0 && k < 8; k++)
		if (pc < ci->r[i].hi)
			return &ci->r[i];
	return NULL;
}

/* The inlined_subroutine DIEs holding pc inside fn, outermost first. */
static int find_inlines(Dwarf_Die *fn, Dwarf_Addr pc, Dwarf_Die *chain, int max)
{
	Dwarf_Die cur = *fn, ch;
	int n = 0;
	for (int depth = 0; depth < 256; depth++) {
		int found = 0;
		if (dwarf_child(&cur, &ch) != 0)
			break;
		do {
			int tag = dwarf_tag(&ch);
			if ((tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block ||
			     tag == DW_TAG_try_block || tag == DW_TAG_catch_block) &&
			    dwarf_haspc(&ch, pc) == 1) {
				if (tag == DW_TAG_inlined_subroutine && n < max)
					chain[n++] = ch;
				cur = ch;
				found = 1;
				break;
			}
		} while (dwarf_siblingof(&ch, &ch) == 0);
		if (!found)
			break;
	}
	return n;
}

/* Where an inlined instance was called from. */
static void call_site(Dwarf_Die *inl, const char **file, uint32_t *line)
{
	Dwarf_Attribute at;
	Dwarf_Word w;
	*file = NULL;
	*line = 0;
	if (dwarf_attr(inl, DW_AT_call_line, &at) && dwarf_formudata(&at, &w) == 0)
		*line = (uint32_t)w;
	if (dwarf_attr(inl, DW_AT_call_file, &at) && dwarf_formudata(&at, &w) == 0) {
		Dwarf_Die cu;
		Dwarf_Files *files;
		size_t nf;
		if (dwarf_diecu(inl, &cu, NULL, NULL) && dwarf_getsrcfiles(&cu, &files, &nf) == 0 && w < nf)
			*file = dwarf_filesrc(files, w, NULL, NULL);
	}
}

/* ---- one address ---- */

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->rank - y->rank;
}

static void read_syms(struct modctx *mc)
{
	mc->syms_read = 1;
	int n = dwfl_module_getsymtab(mc->m);
	if (n <= 1 || !(mc->syms = malloc((size_t)n * sizeof *mc->syms)))
		return;
	for (int i = 1; i < n; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		const char *nm = dwfl_module_getsym_info(mc->m, i, &sym, &addr, NULL, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
		if (!nm || !*nm || sym.st_shndx == SHN_UNDEF || !addr ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE))
			continue;
		mc->syms[mc->nsyms++] = (struct sym){ addr, sym.st_size, nm,
			bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2 };
	}
	qsort(mc->syms, mc->nsyms, sizeof *mc->syms, cmp_sym);
}

/* The function symbol holding pc: the nearest one below that spans it
 * (global before weak before local at one address), else the nearest
 * sizeless one below. */
static const char *sym_at(struct modctx *mc, GElf_Addr pc)
{
	if (!mc->syms_read)
		read_syms(mc);
	size_t lo = 0, hi = mc->nsyms;
	while (lo < hi) {          /* first symbol above pc */
		size_t mid = lo + (hi - lo) / 2;
		if (mc->syms[mid].lo <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct sym *best = NULL, *sizeless = NULL;
	for (size_t i = lo, looked = 0; i-- > 0 && looked < 64; looked++) {
		const struct sym *s = &mc->syms[i];
		if (best && s->lo != best->lo)
			break;       /* the nearest address that spans pc is settled */
		if (s->size && pc - s->lo < s->size)
			best = s;    /* down one address, better ranked ones come last */
		else if (!s->size && !sizeless && !best)
			sizeless = s;
	}
	return best ? best->name : sizeless ? sizeless->name : NULL;
}

/* Names owned by one lookup: the demangled and DIE names it made. */
struct sym_out {
	Memattach__Symbol s;
	Memattach__InlinedFrame inl[MAX_INLINE], *inlp[MAX_INLINE];
	char *owned[MAX_INLINE + 2];
	int nowned;
};

/* The Symbol record of addr in mc's module (o->s; free with sym_out_free). */
static void describe_symbol(struct modctx *mc, uint64_t addr, struct sym_out *o)
{
	int ninl = 0;
	const char *fn = NULL, *file = NULL;
	uint32_t line = 0;

	memattach__symbol__init(&o->s);
	o->nowned = 0;
	o->s.address = addr;
	o->s.module = mc->md->path;
	o->s.module_offset = addr - mc->md->base;
	if (mc->m) {
		Dwarf_Addr pc = addr - 1;   /* a return address: look at the call */
		Dwfl_Line *l = dwfl_module_getsrc(mc->m, pc);
		int ln = 0;
		if (l && (file = dwfl_lineinfo(l, NULL, &ln, NULL, NULL, NULL)))
			line = ln > 0 ? (uint32_t)ln : 0;
		Dwarf_Addr bias = 0;
		Dwarf_Die *cudie = dwfl_module_addrdie(mc->m, pc, &bias);
		struct cu_index *ci = cudie ? cu_index_of(mc, cudie) : NULL;
		const struct fn_range *fr = ci ? find_fn(ci, pc - bias) : NULL;
		Dwarf_Die fdie;
		Dwarf *dw = cudie ? dwarf_cu_getdwarf(cudie->cu) : NULL;
		if (fr && dw && dwarf_offdie(dw, fr->die, &fdie)) {
			Dwarf_Die chain[MAX_INLINE];
			int n = find_inlines(&fdie, pc - bias, chain, MAX_INLINE);
			/* innermost first: each frame's own location, then its call site */
			for (int i = n; i-- > 0;) {
				Memattach__InlinedFrame *f = &o->inl[ninl];
				memattach__inlined_frame__init(f);
				f->function = (char *)die_name(&chain[i], &o->owned[o->nowned]);
				if (o->owned[o->nowned])
					o->nowned++;
				if (!f->function)
					f->function = "";
				f->file = (char *)(file ? file : "");
				f->line = line;
				o->inlp[ninl++] = f;
				call_site(&chain[i], &file, &line);
			}
			fn = die_name(&fdie, &o->owned[o->nowned]);
			if (o->owned[o->nowned])
				o->nowned++;
		}
		if (!fn) {
			const char *nm = sym_at(mc, pc);
			if (nm && (o->owned[o->nowned] = demangle(nm)))
				nm = o->owned[o->nowned++];
			fn = nm;
		}
	}
	o->s.function = (char *)(fn ? fn : "");
	o->s.file = (char *)(file ? file : "");
	o->s.line = fn || file ? line : 0;
	o->s.n_inlined = (size_t)ninl;
	o->s.inlined = o->inlp;
}

static void sym_out_free(struct sym_out *o)
{
	for (int i = 0; i < o->nowned; i++)
		free(o->owned[i]);
	o->nowned = 0;
}

static int put_symbol(struct ctx *c, Memattach__Symbol *s)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	rec.r_case = MEMATTACH__RECORD__R_SYMBOL;
	rec.symbol = s;
	if (ma_capture_writer_write_record(c->w, &rec) < 0) {
		snprintf(c->err, c->errlen, "%s", ma_capture_writer_error(c->w));
		return -1;
	}
	return 0;
}

/* The Symbol record of addr, looked up in mc's module, and kept in sc
 * when not NULL. */
static int write_symbol(struct ctx *c, struct modctx *mc, uint64_t addr, ma_symcache *sc)
{
	struct sym_out *o = malloc(sizeof *o);
	if (!o)
		return oom(c);
	describe_symbol(mc, addr, o);
	int rc = put_symbol(c, &o->s);
	if (sc)
		ma_symcache_put(sc, &o->s);
	sym_out_free(o);
	free(o);
	return rc;
}

/* The Symbol record of addr from an earlier capture's (cached). */
static int write_cached(struct ctx *c, const struct mod *md, uint64_t addr, const Memattach__Symbol *cs)
{
	Memattach__Symbol s = *cs;
	s.address = addr;
	s.module = md->path;
	s.module_offset = addr - md->base;
	return put_symbol(c, &s);
}

/* The symbol cache of a module (NULL: none), for files opened as the
 * target's user with their debug files under prefix. */
static ma_symcache *cache_of(const struct mod *md, const char *prefix)
{
	return ma_symcache_of(md->build_id, md->build_id_len, prefix, ma_target_files_uid());
}

/* Opens a module's file (prefixed first) and checks its build id. */
static Dwfl *open_module(const Dwfl_Callbacks *cb, const struct mod *md, const char *prefix,
			 Dwfl_Module **out)
{
	char path[4096];
	/* the main program of an agent that could not name it (no /proc) */
	const char *name = md->path[0] || !prefix[0] ? md->path : ma_target_exe();
	*out = NULL;
	if (!name[0])
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		const char *pre = pass == 0 ? prefix : "";
		/* never this machine's file of the same name for a container's */
		if (pass == 1 && (!prefix[0] || ma_target_other_root()))
			break;
		if ((size_t)snprintf(path, sizeof path, "%s%s", pre, name) >= sizeof path)
			continue;
		/* what the stream names: as the target's user, regular files only */
		int fd = ma_target_file_open(path);
		if (fd < 0)
			continue;
		Dwfl *d = dwfl_begin(cb);
		if (!d) {
			close(fd);
			return NULL;
		}
		dwfl_report_begin(d);
		Dwfl_Module *m = dwfl_report_elf(d, name, path, fd, md->base, true);
		if (!m)
			close(fd);   /* consumed on success only */
		dwfl_report_end(d, NULL, NULL);
		if (m && md->build_id_len) {
			const unsigned char *bits;
			GElf_Addr v;
			int n = dwfl_module_build_id(m, &bits, &v);
			if (n > 0 && ((size_t)n != md->build_id_len || memcmp(bits, md->build_id, (size_t)n)))
				m = NULL;   /* rebuilt since: its symbols would be wrong */
		}
		if (m) {
			*out = m;
			return d;
		}
		dwfl_end(d);
	}
	return NULL;
}

struct work {
	uint32_t mod;
	uint64_t addr;
};

static int cmp_work(const void *a, const void *b)
{
	const struct work *x = a, *y = b;
	if (x->mod != y->mod)
		return x->mod < y->mod ? -1 : 1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Where separate debug files are looked for: elfutils' default places,
 * and the target's own /usr/lib/debug when it lives in another root.
 * 0, or -1 when out of memory. */
static int debug_callbacks(Dwfl_Callbacks *cb, char **dipath, const char *root_prefix)
{
	*dipath = NULL;
	if (root_prefix[0]) {
		size_t n = strlen(root_prefix) + 64;
		if (!(*dipath = malloc(n)))
			return -1;
		snprintf(*dipath, n, ":.debug:/usr/lib/debug:%s/usr/lib/debug", root_prefix);
	}
	memset(cb, 0, sizeof *cb);
	cb->find_elf = dwfl_build_id_find_elf;
	cb->find_debuginfo = ma_target_find_debuginfo;
	cb->section_address = dwfl_offline_section_address;
	cb->debuginfo_path = *dipath ? dipath : NULL;
	return 0;
}

/* ---- Opening modules ahead, while the capture runs ----
 * Opening a module (its ELF, its debug file found and decompressed, its
 * symbol table) is most of a symbolization's cost and needs no address:
 * a thread of the CLI does it for each module as soon as a stack uses it,
 * and ma_symbolize_capture takes the opened module over. */
struct warm {
	struct mod md;              /* path, base, build id, segments */
	int queued;
	Dwfl *d;                    /* set by the worker; taken by the capture's end */
	struct modctx mc;           /* its module and compile-unit indexes */
	uint64_t *addrs;            /* addresses to look at (under warm_lock) */
	size_t naddrs, capaddrs;
	ma_symcache *sc;            /* names from earlier captures */
	int sc_looked;
	struct warm *next_todo;
};

static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t warm_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t warm_idle_cond = PTHREAD_COND_INITIALIZER;
static int warm_busy;               /* the worker is in warm_one */
static struct warm **warm_mods;     /* in Module record order */
static size_t warm_n, warm_cap;
static struct warm *warm_todo, *warm_todo_tail;
static int warm_running, warm_quit;
static pthread_t warm_thread;
static Dwfl_Callbacks warm_cb;
static char *warm_dipath;
static char warm_prefix[256];

/* Puts w at the end of the worker's queue (warm_lock held). */
static void warm_enqueue(struct warm *w)
{
	w->queued = 1;
	w->next_todo = NULL;
	if (warm_todo_tail)
		warm_todo_tail->next_todo = w;
	else
		warm_todo = w;
	warm_todo_tail = w;
	pthread_cond_signal(&warm_cond);
}

/* Opens w's module (once), then indexes the compile units and line
 * tables of the addresses given since: the per-address work of the end,
 * done ahead.  Called with warm_lock held; drops it while working. */
static void warm_one(struct warm *w)
{
	uint64_t *a = w->addrs;
	size_t n = w->naddrs;
	w->addrs = NULL;
	w->naddrs = w->capaddrs = 0;
	pthread_mutex_unlock(&warm_lock);
	if (!w->d && !w->mc.m && !w->mc.md) {
		w->mc.md = &w->md;
		w->d = open_module(&warm_cb, &w->md, warm_prefix, &w->mc.m);
		if (w->mc.m) {
			Dwarf_Addr bias;
			dwfl_module_getdwarf(w->mc.m, &bias);
			dwfl_module_getsymtab(w->mc.m);
		}
	}
	for (size_t i = 0; w->mc.m && i < n; i++) {
		Dwarf_Addr pc = a[i] - 1, bias = 0;
		Dwarf_Die *cudie = dwfl_module_addrdie(w->mc.m, pc, &bias);
		if (cudie)
			cu_index_of(&w->mc, cudie);
		dwfl_module_getsrc(w->mc.m, pc);
	}
	free(a);
	pthread_mutex_lock(&warm_lock);
}

static void *warm_main(void *arg)
{
	(void)arg;
	/* this thread opens files for the target only: as its user */
	ma_target_files_prefix(warm_prefix);
	int may_open = ma_target_files_enter() == 0;
	pthread_mutex_lock(&warm_lock);
	for (;;) {
		while (!warm_todo && !warm_quit)
			pthread_cond_wait(&warm_cond, &warm_lock);
		if (!warm_todo)
			break;
		struct warm *w = warm_todo;
		warm_todo = w->next_todo;
		if (!warm_todo)
			warm_todo_tail = NULL;
		w->queued = 0;
		warm_busy = 1;
		if (may_open)
			warm_one(w);
		warm_busy = 0;
		if (!warm_todo)
			pthread_cond_broadcast(&warm_idle_cond);
	}
	warm_busy = 0;
	pthread_cond_broadcast(&warm_idle_cond);
	pthread_mutex_unlock(&warm_lock);
	return NULL;
}

int ma_symbolize_prewarm_start(const char *root_prefix)
{
	if (warm_running)
		return 0;
	snprintf(warm_prefix, sizeof warm_prefix, "%s", root_prefix ? root_prefix : "");
	if (debug_callbacks(&warm_cb, &warm_dipath, warm_prefix) < 0)
		return -1;
	warm_quit = 0;
	if (pthread_create(&warm_thread, NULL, warm_main, NULL) != 0) {
		free(warm_dipath);
		warm_dipath = NULL;
		return -1;
	}
	warm_running = 1;
	return 0;
}

void ma_symbolize_prewarm_module(const Memattach__Module *mm)
{
	if (!warm_running || !mm->path || !mm->path[0])
		return;
	struct warm *w = calloc(1, sizeof *w);
	if (!w || !(w->md.path = strdup(mm->path)) ||
	    !(w->md.segs = calloc(mm->n_segments ? mm->n_segments : 1, sizeof *w->md.segs))) {
		if (w)
			free(w->md.path);
		free(w);
		return;
	}
	w->md.base = mm->load_address;
	for (size_t i = 0; i < mm->n_segments; i++)
		w->md.segs[i] = (struct seg){ mm->segments[i]->start, mm->segments[i]->end };
	w->md.nsegs = mm->n_segments;
	if (mm->build_id.len <= sizeof w->md.build_id) {
		memcpy(w->md.build_id, mm->build_id.data, mm->build_id.len);
		w->md.build_id_len = mm->build_id.len;
	}
	if (warm_n == warm_cap) {
		size_t cap = warm_cap ? warm_cap * 2 : 64;
		struct warm **g = realloc(warm_mods, cap * sizeof *g);
		if (!g) {
			free(w->md.path);
			free(w->md.segs);
			free(w);
			return;
		}
		warm_mods = g;
		warm_cap = cap;
	}
	warm_mods[warm_n++] = w;
}

void ma_symbolize_prewarm_stack(const Memattach__Stack *st)
{
	if (!warm_running)
		return;
	pthread_mutex_lock(&warm_lock);
	for (size_t i = 0; i < st->n_frames; i++) {
		uint64_t a = st->frames[i];
		if (!a || (a & MA_FRAME_PYTHON_BIT))
			continue;
		for (size_t k = warm_n; k-- > 0;) {
			struct warm *w = warm_mods[k];
			if (!mod_has(&w->md, a))
				continue;
			if (!w->sc_looked) {
				w->sc_looked = 1;
				w->sc = cache_of(&w->md, warm_prefix);
			}
			if (ma_symcache_get(w->sc, a - w->md.base))
				break;   /* named before: no need to open the module for it */
			if (w->naddrs == w->capaddrs) {
				size_t cap = w->capaddrs ? w->capaddrs * 2 : 64;
				uint64_t *g = realloc(w->addrs, cap * sizeof *g);
				if (!g)
					break;
				w->addrs = g;
				w->capaddrs = cap;
			}
			w->addrs[w->naddrs++] = a;
			if (!w->queued)
				warm_enqueue(w);
			break;
		}
	}
	pthread_mutex_unlock(&warm_lock);
}

/* Queues the loaded module whose file is named base (no addresses yet:
 * its symbols and debug info opened). */
void ma_symbolize_prewarm_named(const char *base)
{
	if (!warm_running)
		return;
	pthread_mutex_lock(&warm_lock);
	for (size_t k = 0; k < warm_n; k++) {
		struct warm *w = warm_mods[k];
		const char *slash = strrchr(w->md.path, '/');
		if (strcmp(slash ? slash + 1 : w->md.path, base) || w->queued || w->d)
			continue;
		warm_enqueue(w);
	}
	pthread_mutex_unlock(&warm_lock);
}

void ma_symbolize_prewarm_wait(void)
{
	if (!warm_running)
		return;
	pthread_mutex_lock(&warm_lock);
	while ((warm_todo || warm_busy) && !warm_quit)
		pthread_cond_wait(&warm_idle_cond, &warm_lock);
	pthread_mutex_unlock(&warm_lock);
}

/* Stops the worker (what it has not begun stays unopened). */
static void warm_join(void)
{
	if (!warm_running)
		return;
	pthread_mutex_lock(&warm_lock);
	warm_quit = 1;
	warm_todo = warm_todo_tail = NULL;
	pthread_cond_signal(&warm_cond);
	pthread_mutex_unlock(&warm_lock);
	pthread_join(warm_thread, NULL);
	warm_running = 0;
}

/* The module opened ahead for mc->md, handed over with its compile-unit
 * indexes (NULL: none). */
static Dwfl *warm_take(struct modctx *mc)
{
	const struct mod *md = mc->md;
	for (size_t k = 0; k < warm_n; k++) {
		struct warm *w = warm_mods[k];
		if (w->d && w->md.base == md->base && !strcmp(w->md.path, md->path) &&
		    w->md.build_id_len == md->build_id_len &&
		    !memcmp(w->md.build_id, md->build_id, md->build_id_len)) {
			Dwfl *d = w->d;
			mc->m = w->mc.m;
			mc->cus = w->mc.cus;
			mc->ncus = w->mc.ncus;
			mc->capcus = w->mc.capcus;
			mc->syms = w->mc.syms;
			mc->nsyms = w->mc.nsyms;
			mc->syms_read = w->mc.syms_read;
			memset(&w->mc, 0, sizeof w->mc);
			w->d = NULL;
			return d;
		}
	}
	return NULL;
}

static void free_modctx(struct modctx *mc)
{
	for (size_t k = 0; k < mc->ncus; k++)
		free(mc->cus[k].r);
	free(mc->cus);
	free(mc->syms);
}

void ma_symbolize_prewarm_end(void)
{
	warm_join();
	for (size_t k = 0; k < warm_n; k++) {
		struct warm *w = warm_mods[k];
		free_modctx(&w->mc);
		if (w->d)
			dwfl_end(w->d);
		free(w->addrs);
		free(w->md.path);
		free(w->md.segs);
		free(w);
	}
	free(warm_mods);
	warm_mods = NULL;
	warm_n = warm_cap = 0;
	free(warm_dipath);
	warm_dipath = NULL;
}

static void free_ctx(struct ctx *c)
{
	for (size_t i = 0; i < c->nmods; i++) {
		free(c->mods[i].path);
		free(c->mods[i].segs);
	}
	free(c->mods);
	ma_u64map_free(&c->addrs);
	free(c->debuginfo_path);
}

/* ---- Modules kept from one capture's end to the next ----
 * The processes of a tree (--pid-tree, --follow-fork) map the same files
 * at the same addresses: a module opened and indexed for one capture
 * (its DWARF read, compile units and line tables indexed) serves the
 * next, instead of being read again for each.  Kept only when that is
 * exact and safe: same path, load address and build id (so the same
 * contents), same root (by inode) and the same user opening it (a capture
 * never gets names from a file its own process's user could not read). */
#define KEPT_MAX 16

struct kept {
	struct mod md;              /* path, base, build id */
	struct ma_target_id id;     /* who opened it (root_fd not kept) */
	dev_t root_dev;             /* in which root (0: none held) */
	ino_t root_ino;
	Dwfl_Callbacks cb;          /* the Dwfl points at these */
	char *dipath;
	Dwfl *d;
	struct modctx mc;
	uint64_t used;
};

static struct kept *kept_mods[KEPT_MAX];
static uint64_t kept_clock;

/* The user (and the root, by its inode: /proc/PID/root differs for
 * every process of one tree) files are opened as now. */
static void current_user(struct ma_target_id *id, dev_t *dev, ino_t *ino)
{
	struct stat st;
	ma_target_files_get(id);
	*dev = 0;
	*ino = 0;
	if (id->root_fd >= 0 && fstat(id->root_fd, &st) == 0) {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	ma_target_files_drop(id);
}

static int same_user(const struct kept *k, const struct ma_target_id *b, dev_t dev, ino_t ino)
{
	const struct ma_target_id *a = &k->id;
	return a->have == b->have && a->uid == b->uid && a->gid == b->gid && a->ngroups == b->ngroups &&
	       !memcmp(a->groups, b->groups, sizeof(gid_t) * (size_t)a->ngroups) &&
	       k->root_dev == dev && k->root_ino == ino && a->other_root == b->other_root;
}

static void kept_free(struct kept *k)
{
	if (!k)
		return;
	free_modctx(&k->mc);
	if (k->d)
		dwfl_end(k->d);
	free(k->dipath);
	free(k->md.path);
	free(k);
}

/* The module of mc->md, from an earlier capture or opened now into a new
 * entry (*kp) that kept_put keeps (without a build id: opened with cb,
 * not kept, *kp NULL); NULL Dwfl when not found. */
static Dwfl *kept_take(struct modctx *mc, const char *prefix, const Dwfl_Callbacks *cb, struct kept **kp)
{
	const struct mod *md = mc->md;
	struct ma_target_id id;
	dev_t dev;
	ino_t ino;
	current_user(&id, &dev, &ino);
	*kp = NULL;
	for (int i = 0; md->build_id_len && i < KEPT_MAX; i++) {
		struct kept *k = kept_mods[i];
		if (!k || k->md.base != md->base || k->md.build_id_len != md->build_id_len ||
		    memcmp(k->md.build_id, md->build_id, md->build_id_len) || strcmp(k->md.path, md->path) ||
		    !same_user(k, &id, dev, ino))
			continue;
		kept_mods[i] = NULL;
		const struct mod *own = mc->md;
		*mc = k->mc;
		mc->md = own;
		memset(&k->mc, 0, sizeof k->mc);
		Dwfl *d = k->d;
		k->d = NULL;
		*kp = k;
		return d;
	}
	struct kept *k = md->build_id_len ? calloc(1, sizeof *k) : NULL;
	if (k && (!(k->md.path = strdup(md->path)) || debug_callbacks(&k->cb, &k->dipath, prefix) < 0)) {
		kept_free(k);
		k = NULL;
	}
	if (!k)
		return open_module(cb, md, prefix, &mc->m);   /* not kept */
	k->md.base = md->base;
	memcpy(k->md.build_id, md->build_id, md->build_id_len);
	k->md.build_id_len = md->build_id_len;
	k->id = id;
	k->root_dev = dev;
	k->root_ino = ino;
	*kp = k;
	return open_module(&k->cb, md, prefix, &mc->m);
}

/* k back among the kept, with the module and indexes mc holds now (the
 * least recently used entry makes room). */
static void kept_put(struct kept *k, Dwfl *d, struct modctx *mc)
{
	k->d = d;
	k->mc = *mc;
	k->mc.md = &k->md;
	k->used = ++kept_clock;
	int slot = 0;
	for (int i = 0; i < KEPT_MAX; i++) {
		if (!kept_mods[i]) {
			slot = i;
			break;
		}
		if (kept_mods[i]->used < kept_mods[slot]->used)
			slot = i;
	}
	kept_free(kept_mods[slot]);
	kept_mods[slot] = k;
}

/* Writes the Symbol records of what c has collected; frees c. */
static int symbolize_collected(struct ctx *cp, const char *root_prefix)
{
	struct ctx c = *cp;
	if (!root_prefix)
		root_prefix = "";
	warm_join();   /* what it opened is ours now */
	if (debug_callbacks(&c.cb, &c.debuginfo_path, root_prefix) < 0) {
		free_ctx(&c);
		return oom(&c);
	}

	struct work *wk = malloc((c.addrs.n ? c.addrs.n : 1) * sizeof *wk);
	if (!wk) {
		free_ctx(&c);
		return oom(&c);
	}
	size_t nw = 0;
	for (size_t i = 0; c.addrs.keys && i <= c.addrs.mask; i++) {
		uint32_t m = c.addrs.vals[i];
		if (m == UINT32_MAX || m == ADDR_DONE)
			continue;
		/* stacks seen before their module's record, or after its unload */
		if (m == ADDR_UNRESOLVED)
			m = find_module(&c, c.addrs.keys[i], 0);
		if (m == ADDR_UNRESOLVED)
			continue;   /* no module: nothing to say beyond the address */
		wk[nw++] = (struct work){ m, c.addrs.keys[i] };
	}
	qsort(wk, nw, sizeof *wk, cmp_work);

	/* each module's cache, read as the CLI's own user */
	ma_symcache **scs = calloc(c.nmods ? c.nmods : 1, sizeof *scs);
	for (size_t i = 0; scs && i < nw; i++)
		if (i == 0 || wk[i].mod != wk[i - 1].mod)
			scs[wk[i].mod] = cache_of(&c.mods[wk[i].mod], root_prefix);
	/* the modules are opened as the target's user (target_files.c) */
	ma_target_files_prefix(root_prefix);
	if (ma_target_files_enter() < 0) {
		free(scs);
		free(wk);
		free_ctx(&c);
		snprintf(c.err, c.errlen, "cannot take the target's user's file access rights to read its modules");
		return -1;
	}
	int rc = 0, written = 0;
	for (size_t i = 0; i < nw && rc == 0;) {
		size_t j = i;
		while (j < nw && wk[j].mod == wk[i].mod)
			j++;
		struct modctx mc;
		memset(&mc, 0, sizeof mc);
		mc.md = &c.mods[wk[i].mod];
		ma_symcache *sc = scs ? scs[wk[i].mod] : NULL, *keep = NULL;
		struct kept *k = NULL;
		Dwfl *d = NULL;
		int opened = 0;
		for (; i < j && rc == 0; i++) {
			const Memattach__Symbol *cs = ma_symcache_get(sc, wk[i].addr - mc.md->base);
			written++;
			if (cs) {
				rc = write_cached(&c, mc.md, wk[i].addr, cs);
				continue;
			}
			if (!opened) {   /* the module, on its first address not named before */
				opened = 1;
				if (!(d = warm_take(&mc)))
					d = kept_take(&mc, root_prefix, &c.cb, &k);
				keep = ma_symcache_may_keep(sc, mc.m) ? sc : NULL;
			}
			rc = write_symbol(&c, &mc, wk[i].addr, keep);
		}
		if (k) {
			kept_put(k, d, &mc);
			continue;
		}
		free_modctx(&mc);
		if (d)
			dwfl_end(d);
	}
	ma_target_files_leave();
	if (rc == 0)
		ma_symcache_save_all();
	free(scs);
	free(wk);
	free_ctx(&c);
	return rc < 0 ? -1 : written;
}

int ma_symbolize_capture(const char *capture_path, ma_capture_writer *w,
			 const char *root_prefix, char *err, size_t errlen)
{
	struct ctx c;
	memset(&c, 0, sizeof c);
	c.w = w;
	c.err = err;
	c.errlen = errlen;
	if (collect(&c, capture_path) < 0) {
		free_ctx(&c);
		return -1;
	}
	return symbolize_collected(&c, root_prefix);
}

/* ---- What the end will symbolize, gathered as the records pass ----
 * The same as collect() finds, taken from the records on their way to
 * the file: the end then need not read back and decompress the whole
 * capture (16 ms of the CLI's CPU for 2.3M events). */
struct ma_symbol_plan {
	struct ctx c;
	char err[128];
	int failed;                 /* out of memory: the plan is incomplete */
};

ma_symbol_plan *ma_symbol_plan_new(void)
{
	ma_symbol_plan *p = calloc(1, sizeof *p);
	if (p) {
		p->c.err = p->err;
		p->c.errlen = sizeof p->err;
	}
	return p;
}

void ma_symbol_plan_module(ma_symbol_plan *p, const Memattach__Module *mm)
{
	if (p && !p->failed && add_module(&p->c, mm) < 0)
		p->failed = 1;
}

void ma_symbol_plan_unload(ma_symbol_plan *p, uint64_t load_address)
{
	if (p && !p->failed)
		note_unload(&p->c, load_address);
}

void ma_symbol_plan_stack(ma_symbol_plan *p, const Memattach__Stack *st)
{
	if (p && !p->failed && note_stack(&p->c, st) < 0)
		p->failed = 1;
}

void ma_symbol_plan_free(ma_symbol_plan *p)
{
	if (!p)
		return;
	free_ctx(&p->c);
	free(p);
}

int ma_symbolize_planned(ma_symbol_plan *p, ma_capture_writer *w, const char *root_prefix,
			 char *err, size_t errlen)
{
	if (p->failed) {
		snprintf(err, errlen, "%s", p->err);
		ma_symbol_plan_free(p);
		return -1;
	}
	struct ctx c = p->c;
	free(p);
	c.w = w;
	c.err = err;
	c.errlen = errlen;
	return symbolize_collected(&c, root_prefix);
}

/* ---- Looking addresses up while the capture runs (memattach live) ----
 * The same lookup as the end's, one address at a time: each module is
 * opened on first use (as the target's user) and kept. */
struct ma_symbolizer {
	struct ctx c;               /* the modules (c.mods) */
	struct modctx *mcs;         /* per module: opened or not */
	Dwfl **dwfls;
	unsigned char *tried;
	size_t cap;
	char prefix[256];
};

ma_symbolizer *ma_symbolizer_new(const char *root_prefix)
{
	ma_symbolizer *z = calloc(1, sizeof *z);
	static char err[256];
	if (!z)
		return NULL;
	z->c.err = err;
	z->c.errlen = sizeof err;
	snprintf(z->prefix, sizeof z->prefix, "%s", root_prefix ? root_prefix : "");
	if (debug_callbacks(&z->c.cb, &z->c.debuginfo_path, z->prefix) < 0) {
		free(z);
		return NULL;
	}
	return z;
}

int ma_symbolizer_module(ma_symbolizer *z, const Memattach__Module *mm)
{
	if (add_module(&z->c, mm) < 0)
		return -1;
	if (z->c.nmods > z->cap) {
		size_t cap = z->c.capmods;
		struct modctx *m = realloc(z->mcs, cap * sizeof *m);
		if (m)
			z->mcs = m;
		Dwfl **d = realloc(z->dwfls, cap * sizeof *d);
		if (d)
			z->dwfls = d;
		unsigned char *t = realloc(z->tried, cap);
		if (t)
			z->tried = t;
		if (!m || !d || !t)
			return -1;
		z->cap = cap;
	}
	size_t i = z->c.nmods - 1;
	memset(&z->mcs[i], 0, sizeof z->mcs[i]);
	z->dwfls[i] = NULL;
	z->tried[i] = 0;
	return 0;
}

void ma_symbolizer_unload(ma_symbolizer *z, uint64_t load_address)
{
	for (size_t i = z->c.nmods; i-- > 0;)
		if (z->c.mods[i].live && z->c.mods[i].base == load_address) {
			z->c.mods[i].live = 0;
			return;
		}
}

int ma_symbolizer_lookup(ma_symbolizer *z, uint64_t addr,
			 void (*cb)(void *ctx, const Memattach__Symbol *s), void *ctx)
{
	uint32_t m = find_module(&z->c, addr, 1);
	if (m == ADDR_UNRESOLVED)
		return -1;
	struct sym_out *o = malloc(sizeof *o);
	if (!o)
		return -1;
	/* files the stream names are opened as the target's user */
	ma_target_files_prefix(z->prefix);
	int may_open = ma_target_files_enter() == 0;
	struct modctx *mc = &z->mcs[m];
	mc->md = &z->c.mods[m];   /* c.mods may have moved */
	if (!z->tried[m] && may_open) {
		z->tried[m] = 1;
		z->dwfls[m] = open_module(&z->c.cb, mc->md, z->prefix, &mc->m);
	}
	if (z->tried[m])
		describe_symbol(mc, addr, o);
	if (may_open)
		ma_target_files_leave();
	if (z->tried[m]) {
		cb(ctx, &o->s);
		sym_out_free(o);
	}
	free(o);
	return z->tried[m] ? 0 : -1;
}

void ma_symbolizer_free(ma_symbolizer *z)
{
	if (!z)
		return;
	for (size_t i = 0; i < z->c.nmods; i++) {
		free_modctx(&z->mcs[i]);
		if (z->dwfls[i])
			dwfl_end(z->dwfls[i]);
	}
	free(z->mcs);
	free(z->dwfls);
	free(z->tried);
	free_ctx(&z->c);
	free(z);
}

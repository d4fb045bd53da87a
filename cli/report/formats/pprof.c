/* pprof.c — `memattach report pprof`: a gzipped profile.proto for
 * `go tool pprof`.  The protobuf is encoded by hand (a few messages of the
 * public pprof schema: Profile, ValueType, Sample, Mapping, Location, Line,
 * Function).  Sample types: alloc_objects/count, alloc_space/bytes (all
 * allocated), inuse_objects/count, inuse_space/bytes (live at the peak, or
 * at the end with --leaks).  One sample per stack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"

#define VIEW_MAX 4096

/* ------------------------------------------------------ protobuf output */

typedef struct buf {
	uint8_t *p;
	size_t n, cap;
	int oom;
} buf;

static void put(buf *b, const void *d, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		while (c < b->n + n)
			c *= 2;
		uint8_t *g = realloc(b->p, c);
		if (!g) {
			b->oom = 1;
			return;
		}
		b->p = g;
		b->cap = c;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void varint(buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;
	do {
		t[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(b, t, n);
}

static void field_u64(buf *b, unsigned field, uint64_t v)
{
	if (!v)
		return;          /* proto3: zero is the default */
	varint(b, (uint64_t)field << 3);
	varint(b, v);
}

static void field_bytes(buf *b, unsigned field, const void *d, size_t n)
{
	varint(b, (uint64_t)field << 3 | 2);
	varint(b, n);
	put(b, d, n);
}

/* A packed repeated varint field. */
static void field_packed(buf *b, unsigned field, const uint64_t *v, size_t n)
{
	buf t = { 0 };
	for (size_t i = 0; i < n; i++)
		varint(&t, v[i]);
	field_bytes(b, field, t.p, t.n);
	b->oom |= t.oom;
	free(t.p);
}

/* A sub-message built in t, then cleared. */
static void field_msg(buf *b, unsigned field, buf *t)
{
	field_bytes(b, field, t->p, t->n);
	b->oom |= t->oom;
	t->n = 0;
}

/* ------------------------------------------------------ interning */

typedef struct strtab {
	char **s;
	size_t n, cap;
	uint32_t *slots;
	size_t mask;
} strtab;

typedef struct u64tab {
	uint64_t *k;
	uint32_t *v;     /* + 1 */
	size_t mask, n;
} u64tab;

static uint64_t hs(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int str_rehash(strtab *t)
{
	size_t cap = t->slots ? (t->mask + 1) * 2 : 1024;
	uint32_t *sl = calloc(cap, sizeof *sl);
	if (!sl)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = hs(t->s[i]) & (cap - 1);
		while (sl[j])
			j = (j + 1) & (cap - 1);
		sl[j] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = sl;
	t->mask = cap - 1;
	return 0;
}

/* Index of s in the string table (added when new); -1 on OOM. */
static int64_t str_id(strtab *t, const char *s)
{
	if (!s)
		s = "";
	if ((t->n + 1) * 2 > (t->slots ? t->mask + 1 : 0) && str_rehash(t) < 0)
		return -1;
	size_t j = hs(s) & t->mask;
	for (; t->slots[j]; j = (j + 1) & t->mask)
		if (!strcmp(t->s[t->slots[j] - 1], s))
			return t->slots[j] - 1;
	if (t->n == t->cap) {
		size_t c = t->cap ? t->cap * 2 : 256;
		char **g = realloc(t->s, c * sizeof *g);
		if (!g)
			return -1;
		t->s = g;
		t->cap = c;
	}
	char *d = strdup(s);
	if (!d)
		return -1;
	t->s[t->n] = d;
	t->slots[j] = (uint32_t)++t->n;
	return (int64_t)t->n - 1;
}

static uint64_t h64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	return k ^ (k >> 33);
}

/* Value of key (0: absent); set when v is nonzero. */
static uint32_t u64_get(u64tab *t, uint64_t key)
{
	if (!t->k)
		return 0;
	for (size_t i = h64(key) & t->mask; t->v[i]; i = (i + 1) & t->mask)
		if (t->k[i] == key)
			return t->v[i];
	return 0;
}

static int u64_put(u64tab *t, uint64_t key, uint32_t v)
{
	if ((t->n + 1) * 2 > (t->k ? t->mask + 1 : 0)) {
		size_t cap = t->k ? (t->mask + 1) * 2 : 1024;
		uint64_t *k = malloc(cap * sizeof *k);
		uint32_t *vv = calloc(cap, sizeof *vv);
		if (!k || !vv) {
			free(k);
			free(vv);
			return -1;
		}
		for (size_t i = 0; t->k && i <= t->mask; i++) {
			if (!t->v[i])
				continue;
			size_t j = h64(t->k[i]) & (cap - 1);
			while (vv[j])
				j = (j + 1) & (cap - 1);
			k[j] = t->k[i];
			vv[j] = t->v[i];
		}
		free(t->k);
		free(t->v);
		t->k = k;
		t->v = vv;
		t->mask = cap - 1;
	}
	size_t i = h64(key) & t->mask;
	while (t->v[i] && t->k[i] != key)
		i = (i + 1) & t->mask;
	if (!t->v[i])
		t->n++;
	t->k[i] = key;
	t->v[i] = v;
	return 0;
}

static void u64_free(u64tab *t)
{
	free(t->k);
	free(t->v);
}

/* ------------------------------------------------------ the profile */

typedef struct profile {
	const ma_analysis *a;
	buf out, tmp, tmp2;
	strtab strs;
	u64tab locs;        /* frame → location id */
	u64tab funcs;       /* hash(name, file) → function id (checked below) */
	uint64_t nlocs, nfuncs;
	int64_t *func_name, *func_file;   /* per function id - 1 */
	size_t cap_funcs;
	int oom;
} profile;

static uint64_t func_id(profile *p, const ma_loc *l)
{
	char name[512];
	const char *fn = l->function ? l->function : ma_loc_name(l, name, sizeof name);
	int64_t ns = str_id(&p->strs, fn), fs = str_id(&p->strs, l->file);
	if (ns < 0 || fs < 0) {
		p->oom = 1;
		return 0;
	}
	uint64_t key = ((uint64_t)ns << 32) ^ (uint64_t)fs;
	uint32_t id = u64_get(&p->funcs, key);
	if (id)
		return id;
	if (p->nfuncs == p->cap_funcs) {
		size_t c = p->cap_funcs ? p->cap_funcs * 2 : 256;
		int64_t *a = realloc(p->func_name, c * sizeof *a);
		if (a)
			p->func_name = a;
		int64_t *b = realloc(p->func_file, c * sizeof *b);
		if (b)
			p->func_file = b;
		if (!a || !b) {
			p->oom = 1;
			return 0;
		}
		p->cap_funcs = c;
	}
	p->func_name[p->nfuncs] = ns;
	p->func_file[p->nfuncs] = fs;
	id = (uint32_t)++p->nfuncs;
	if (u64_put(&p->funcs, key, id) < 0)
		p->oom = 1;
	return id;
}

/* Location id of the frame whose locations are l[0..n) (innermost first,
 * inlined ones before the frame's own function). */
static uint64_t location_id(profile *p, const ma_loc *l, size_t n)
{
	uint64_t frame = l[0].frame;
	uint32_t id = u64_get(&p->locs, frame);
	if (id)
		return id;
	id = (uint32_t)++p->nlocs;
	if (u64_put(&p->locs, frame, id) < 0) {
		p->oom = 1;
		return id;
	}
	buf *m = &p->tmp;
	m->n = 0;
	field_u64(m, 1, id);
	if (!l[0].python) {
		const ma_module *mod = ma_analysis_module(p->a, frame);
		if (mod)
			field_u64(m, 2, (uint64_t)(mod - p->a->modules) + 1);
		field_u64(m, 3, frame);
	}
	/* pprof: line[i] is inlined into line[i+1]; the last is the caller. */
	for (size_t i = 0; i < n; i++) {
		buf *ln = &p->tmp2;
		ln->n = 0;
		field_u64(ln, 1, func_id(p, &l[i]));
		field_u64(ln, 2, l[i].line);
		field_msg(m, 4, ln);
	}
	field_msg(&p->out, 4, m);
	return id;
}

static void value_type(profile *p, unsigned field, const char *type, const char *unit)
{
	buf *m = &p->tmp;
	m->n = 0;
	int64_t t = str_id(&p->strs, type), u = str_id(&p->strs, unit);
	if (t < 0 || u < 0)
		p->oom = 1;
	field_u64(m, 1, (uint64_t)t);
	field_u64(m, 2, (uint64_t)u);
	field_msg(&p->out, field, m);
}

static int build(profile *p, const ma_report_opts *o)
{
	const ma_analysis *a = p->a;
	str_id(&p->strs, "");      /* string 0 is always "" */
	value_type(p, 1, "alloc_objects", "count");
	value_type(p, 1, "alloc_space", "bytes");
	value_type(p, 1, "inuse_objects", "count");
	value_type(p, 1, "inuse_space", "bytes");
	ma_metric inuse = o->metric == MA_METRIC_LEAKS ? MA_METRIC_LEAKS : MA_METRIC_PEAK;
	int has_syms = a->nsymbols > 0;

	for (size_t i = 0; i < a->nmodules; i++) {
		const ma_module *mod = &a->modules[i];
		buf *m = &p->tmp;
		m->n = 0;
		field_u64(m, 1, i + 1);
		field_u64(m, 2, mod->start);
		field_u64(m, 3, mod->end);
		field_u64(m, 4, mod->file_offset);
		field_u64(m, 5, (uint64_t)str_id(&p->strs, mod->path));
		field_u64(m, 6, (uint64_t)str_id(&p->strs, mod->build_id));
		field_u64(m, 7, has_syms);
		field_u64(m, 8, has_syms);
		field_u64(m, 9, has_syms);
		field_u64(m, 10, has_syms);
		field_msg(&p->out, 3, m);
	}

	ma_loc *view = malloc(VIEW_MAX * sizeof *view);
	uint64_t *ids = malloc(VIEW_MAX * sizeof *ids);
	buf sample = { 0 };
	if (!view || !ids)
		p->oom = 1;
	for (size_t i = 0; i < a->nstacks && !p->oom; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		ma_count al = s->alloc;
		ma_count in = ma_stack_value(s, inuse);
		if (!al.count && !in.count)
			continue;
		size_t n = ma_stack_view(a, s, o->native, view, VIEW_MAX), nids = 0;
		for (size_t k = 0; k < n;) {
			size_t e = k + 1;
			while (e < n && view[e].frame == view[k].frame && view[e - 1].inlined)
				e++;
			ids[nids++] = location_id(p, view + k, e - k);
			k = e;
		}
		sample.n = 0;
		if (nids)
			field_packed(&sample, 1, ids, nids);
		uint64_t vals[4] = { al.count, al.bytes, in.count, in.bytes };
		field_packed(&sample, 2, vals, 4);
		field_msg(&p->out, 2, &sample);
	}
	free(view);
	free(ids);
	free(sample.p);

	for (uint64_t f = 0; f < p->nfuncs; f++) {
		buf *m = &p->tmp;
		m->n = 0;
		field_u64(m, 1, f + 1);
		field_u64(m, 2, (uint64_t)p->func_name[f]);
		field_u64(m, 3, (uint64_t)p->func_name[f]);
		field_u64(m, 4, (uint64_t)p->func_file[f]);
		field_msg(&p->out, 5, m);
	}
	char comment[600];
	snprintf(comment, sizeof comment, "memattach capture %s; inuse = memory %s%s",
		 a->command_line ? a->command_line : "", ma_metric_title(inuse),
		 a->filtered ? "; filtered" : "");
	int64_t cid = str_id(&p->strs, comment);
	int64_t dflt = str_id(&p->strs, o->metric == MA_METRIC_TOTAL ? "alloc_space" : "inuse_space");
	if (cid < 0 || dflt < 0 || str_id(&p->strs, "space") < 0)
		p->oom = 1;     /* every string is in the table before it is written */
	for (size_t i = 0; i < p->strs.n; i++)
		field_bytes(&p->out, 6, p->strs.s[i], strlen(p->strs.s[i]));
	field_u64(&p->out, 9, a->start_realtime_ns);
	field_u64(&p->out, 10, a->duration_ns);
	value_type(p, 11, "space", "bytes");
	field_u64(&p->out, 12, 1);
	/* comment: repeated int64, not packed by our choice (both are valid) */
	field_u64(&p->out, 13, (uint64_t)cid);
	field_u64(&p->out, 14, (uint64_t)dflt);
	return p->oom || p->out.oom || p->tmp.oom || p->tmp2.oom ? -1 : 0;
}

/* gzip (RFC 1952) of data into f. */
static int write_gzip(FILE *f, const uint8_t *data, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	uint8_t out[65536];
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)n;
	int zr;
	do {
		z.next_out = out;
		z.avail_out = sizeof out;
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			deflateEnd(&z);
			return -1;
		}
		size_t have = sizeof out - z.avail_out;
		if (have && fwrite(out, 1, have, f) != have) {
			deflateEnd(&z);
			return -1;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

int ma_report_pprof(const ma_report_args *args)
{
	if (args->out == stdout && isatty(1)) {
		fprintf(stderr, "memattach report: pprof output is binary: give -o FILE (e.g. -o profile.pb.gz)\n");
		return MA_EXIT_USAGE;
	}
	ma_analysis *a;
	int rc = ma_report_analyze(args, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	profile p = { .a = a };
	rc = MA_EXIT_OK;
	if (build(&p, &args->opts) < 0) {
		fprintf(stderr, "memattach report: out of memory building the profile\n");
		rc = MA_EXIT_ERROR;
	} else if (write_gzip(args->out, p.out.p, p.out.n) < 0) {
		fprintf(stderr, "memattach report: cannot write the profile: %s\n", strerror(errno));
		rc = MA_EXIT_OUTPUT;
	}
	free(p.out.p);
	free(p.tmp.p);
	free(p.tmp2.p);
	for (size_t i = 0; i < p.strs.n; i++)
		free(p.strs.s[i]);
	free(p.strs.s);
	free(p.strs.slots);
	u64_free(&p.locs);
	u64_free(&p.funcs);
	free(p.func_name);
	free(p.func_file);
	ma_analysis_free(a);
	return rc;
}

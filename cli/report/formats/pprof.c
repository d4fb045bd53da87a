/* pprof.c — `memattach report pprof`: a gzipped profile.proto for
 * `go tool pprof`, encoded with protoc-c from proto/pprof.proto.  Sample
 * types: alloc_objects/count, alloc_space/bytes (all allocated),
 * inuse_objects/count, inuse_space/bytes (live at the peak, or at the end
 * with --leaks).  One sample per (thread, stack), labelled with the
 * thread's id (`thread`; for a container's thread the host's, and its id
 * in its namespace as `thread_in_namespace`) and name (`thread_name`), so `-tagfocus` and
 * `-tagshow` select and split by thread.  With --base, the base capture's
 * samples are in it negated: a difference profile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pprof.pb-c.h"
#include "cli/util/exit_codes.h"
#include "cli/util/strtab.h"
#include "cli/util/u64map.h"
#include "cli/report/report.h"

#define VIEW_MAX 4096
#define NTYPES 6                 /* sample types: alloc, inuse, temporary (objects, space) */

typedef Memattach__Pprof__Profile Profile;
typedef Memattach__Pprof__ValueType ValueType;
typedef Memattach__Pprof__Sample Sample;
typedef Memattach__Pprof__Label Label;
typedef Memattach__Pprof__Mapping Mapping;
typedef Memattach__Pprof__Location Location;
typedef Memattach__Pprof__Line Line;
typedef Memattach__Pprof__Function Function;

/* The profile being built.  Every message and array is allocated in one
 * list and freed together. */
typedef struct profile {
	const ma_analysis *a;
	const ma_analysis *base; /* --base: its samples go in negated */
	Profile msg;
	ma_strtab strs;
	ma_u64map locs;          /* frame → index in msg.location */
	ma_u64map funcs;         /* name << 32 | file (string indices) → index in msg.function */
	ma_u64map tids;          /* tid → index in a->threads */
	size_t cap_loc, cap_fn, cap_smp;
	void **mem;              /* everything allocated for msg */
	size_t nmem, cap_mem;
	int oom;
} profile;

static void *palloc(profile *p, size_t size)
{
	if (p->oom)
		return NULL;
	if (p->nmem == p->cap_mem) {
		size_t c = p->cap_mem ? p->cap_mem * 2 : 1024;
		void **m = realloc(p->mem, c * sizeof *m);
		if (!m)
			goto oom;
		p->mem = m;
		p->cap_mem = c;
	}
	void *x = calloc(1, size ? size : 1);
	if (!x)
		goto oom;
	p->mem[p->nmem++] = x;
	return x;
oom:
	p->oom = 1;
	return NULL;
}

/* Appends x to the array *arr of *n elements (capacity *cap, in p's list:
 * a grown array replaces its old copy there). */
static void push(profile *p, void ***arr, size_t *n, size_t *cap, void *x)
{
	if (p->oom || !x)
		return;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 256;
		void **g = palloc(p, c * sizeof *g);
		if (!g)
			return;
		if (*n)
			memcpy(g, *arr, *n * sizeof *g);
		*arr = g;
		*cap = c;
	}
	(*arr)[(*n)++] = x;
}

static int64_t str_id(profile *p, const char *s)
{
	uint32_t i = ma_strtab_intern(&p->strs, s);
	if (i == UINT32_MAX)
		p->oom = 1;
	return i == UINT32_MAX ? 0 : (int64_t)i;
}

static ValueType *value_type(profile *p, const char *type, const char *unit)
{
	ValueType *v = palloc(p, sizeof *v);
	if (v) {
		memattach__pprof__value_type__init(v);
		v->type = str_id(p, type);
		v->unit = str_id(p, unit);
	}
	return v;
}

/* Function id (1-based) of a location's function in its file. */
static uint64_t func_id(profile *p, const ma_loc *l)
{
	char name[512];
	const char *fn = l->function ? l->function : ma_loc_name(l, name, sizeof name);
	int64_t ns = str_id(p, fn), fs = str_id(p, l->file);
	uint32_t *slot = ma_u64map_slot(&p->funcs, (uint64_t)ns << 32 | (uint64_t)fs);
	if (!slot) {
		p->oom = 1;
		return 0;
	}
	if (*slot != UINT32_MAX)
		return *slot + 1;
	Function *f = palloc(p, sizeof *f);
	if (!f)
		return 0;
	memattach__pprof__function__init(f);
	f->id = p->msg.n_function + 1;
	f->name = f->system_name = ns;
	f->filename = fs;
	*slot = (uint32_t)p->msg.n_function;
	push(p, (void ***)&p->msg.function, &p->msg.n_function, &p->cap_fn, f);
	return f->id;
}

/* Location id of the frame whose locations are l[0..n) (innermost first,
 * inlined ones before the frame's own function). */
static uint64_t location_id(profile *p, const ma_loc *l, size_t n)
{
	uint32_t *slot = ma_u64map_slot(&p->locs, l[0].frame);
	if (!slot) {
		p->oom = 1;
		return 0;
	}
	if (*slot != UINT32_MAX)
		return *slot + 1;
	Location *loc = palloc(p, sizeof *loc);
	Line **lines = palloc(p, n * sizeof *lines);
	if (!loc || !lines)
		return 0;
	memattach__pprof__location__init(loc);
	loc->id = p->msg.n_location + 1;
	*slot = (uint32_t)p->msg.n_location;
	if (!l[0].python) {
		const ma_module *mod = ma_analysis_module(p->a, l[0].frame);
		if (mod)
			loc->mapping_id = (uint64_t)(mod - p->a->modules) + 1;
		loc->address = l[0].frame;
	}
	/* pprof: line[i] is inlined into line[i+1]; the last is the caller. */
	for (size_t i = 0; i < n; i++) {
		Line *ln = palloc(p, sizeof *ln);
		if (!ln)
			return 0;
		memattach__pprof__line__init(ln);
		ln->function_id = func_id(p, &l[i]);
		ln->line = l[i].line;
		lines[i] = ln;
	}
	loc->line = lines;
	loc->n_line = n;
	push(p, (void ***)&p->msg.location, &p->msg.n_location, &p->cap_loc, loc);
	return loc->id;
}

static void add_mappings(profile *p)
{
	const ma_analysis *a = p->a;
	int has_syms = a->nsymbols > 0;
	p->msg.mapping = palloc(p, (a->nmodules + 1) * sizeof *p->msg.mapping);
	for (size_t i = 0; i < a->nmodules && p->msg.mapping; i++) {
		const ma_module *mod = &a->modules[i];
		Mapping *m = palloc(p, sizeof *m);
		if (!m)
			return;
		memattach__pprof__mapping__init(m);
		m->id = i + 1;
		m->memory_start = mod->start;
		m->memory_limit = mod->end;
		m->file_offset = mod->file_offset;
		m->filename = str_id(p, mod->path);
		m->build_id = str_id(p, mod->build_id);
		m->has_functions = m->has_filenames = has_syms;
		m->has_line_numbers = m->has_inline_frames = has_syms;
		p->msg.mapping[p->msg.n_mapping++] = m;
	}
}

static const char *thread_name(profile *p, uint32_t tid)
{
	if (!p->tids.keys)
		for (size_t i = 0; i < p->a->nthreads; i++)
			if (ma_u64map_put(&p->tids, p->a->threads[i].tid, (uint32_t)i) < 0)
				p->oom = 1;
	uint32_t i = ma_u64map_get(&p->tids, tid);
	return i == UINT32_MAX ? NULL : p->a->threads[i].name;
}

/* The thread labels of a sample: its id, and its name when known. */
static void add_labels(profile *p, Sample *smp, uint32_t tid)
{
	if (!tid)
		return;
	const char *name = thread_name(p, tid);
	uint32_t host = ma_analysis_host_tid(p->a, tid);
	Label **lb = palloc(p, 3 * sizeof *lb);
	Label *id = palloc(p, sizeof *id), *nm = palloc(p, sizeof *nm), *ns = palloc(p, sizeof *ns);
	if (!lb || !id || !nm || !ns)
		return;
	memattach__pprof__label__init(id);
	id->key = str_id(p, "thread");
	id->num = host ? host : tid;
	lb[0] = id;
	smp->n_label = 1;
	if (host) {          /* a container's thread: its id there too */
		memattach__pprof__label__init(ns);
		ns->key = str_id(p, "thread_in_namespace");
		ns->num = tid;
		lb[smp->n_label++] = ns;
	}
	if (name) {
		memattach__pprof__label__init(nm);
		nm->key = str_id(p, "thread_name");
		nm->str = str_id(p, name);
		lb[smp->n_label++] = nm;
	}
	smp->label = lb;
}

/* One sample per (thread, stack) entry with any value. */
static void add_samples(profile *p, ma_metric inuse, const ma_report_opts *o, ma_loc *view)
{
	const ma_analysis *a = p->a;
	for (size_t i = 0; i < a->nstacks && !p->oom; i++) {
		const ma_stack_stats *s = &a->stacks[i];
		ma_count al = s->alloc, in = ma_stack_value(s, inuse);
		if (!al.count && !in.count && !s->temporary.count)
			continue;
		size_t n = ma_stack_view(a, s, o, view, VIEW_MAX), nids = 0;
		Sample *smp = palloc(p, sizeof *smp);
		uint64_t *ids = palloc(p, (n + 1) * sizeof *ids);
		int64_t *vals = palloc(p, NTYPES * sizeof *vals);
		if (!smp || !ids || !vals)
			return;
		memattach__pprof__sample__init(smp);
		for (size_t k = 0; k < n;) {
			size_t e = k + 1;
			while (e < n && view[e].frame == view[k].frame && view[e - 1].inlined)
				e++;
			ids[nids++] = location_id(p, view + k, e - k);
			k = e;
		}
		vals[0] = (int64_t)al.count;
		vals[1] = (int64_t)al.bytes;
		vals[2] = (int64_t)in.count;
		vals[3] = (int64_t)in.bytes;
		vals[4] = (int64_t)s->temporary.count;
		vals[5] = (int64_t)s->temporary.bytes;
		smp->location_id = ids;
		smp->n_location_id = nids;
		smp->value = vals;
		smp->n_value = NTYPES;
		add_labels(p, smp, s->tid);
		push(p, (void ***)&p->msg.sample, &p->msg.n_sample, &p->cap_smp, smp);
	}
}

/* --base: the base capture's samples with their values negated and the
 * label pprof::base=true (what `go tool pprof -diff_base` does), so every
 * view of the profile is this capture minus the base.  Its frames get
 * locations of their own (addresses of another run: no mapping) and its
 * functions are shared by name and file. */
static void add_base_samples(profile *p, ma_metric inuse, const ma_report_opts *o, ma_loc *view)
{
	const ma_analysis *now = p->a;
	ma_u64map locs = p->locs, tids = p->tids;
	size_t first_loc = p->msg.n_location, first = p->msg.n_sample;
	p->locs = (ma_u64map){ 0 };
	p->tids = (ma_u64map){ 0 };
	p->a = p->base;
	add_samples(p, inuse, o, view);
	ma_u64map_free(&p->locs);
	ma_u64map_free(&p->tids);
	p->a = now, p->locs = locs, p->tids = tids;
	for (size_t i = first_loc; i < p->msg.n_location; i++)
		p->msg.location[i]->mapping_id = 0;
	for (size_t i = first; i < p->msg.n_sample && !p->oom; i++) {
		Sample *smp = p->msg.sample[i];
		for (size_t k = 0; k < smp->n_value; k++)
			smp->value[k] = -smp->value[k];
		Label **lb = palloc(p, (smp->n_label + 1) * sizeof *lb);
		Label *mark = palloc(p, sizeof *mark);
		if (!lb || !mark)
			return;
		memattach__pprof__label__init(mark);
		mark->key = str_id(p, "pprof::base");
		mark->str = str_id(p, "true");
		for (size_t k = 0; k < smp->n_label; k++)
			lb[k] = smp->label[k];
		lb[smp->n_label++] = mark;
		smp->label = lb;
	}
}

static int build(profile *p, const ma_report_opts *o)
{
	const ma_analysis *a = p->a;
	Profile *m = &p->msg;
	memattach__pprof__profile__init(m);
	str_id(p, "");           /* string 0 is always "" */
	static const char *types[NTYPES][2] = {
		{ "alloc_objects", "count" }, { "alloc_space", "bytes" },
		{ "inuse_objects", "count" }, { "inuse_space", "bytes" },
		{ "temporary_objects", "count" }, { "temporary_space", "bytes" },
	};
	m->sample_type = palloc(p, NTYPES * sizeof *m->sample_type);
	for (int i = 0; i < NTYPES && m->sample_type; i++)
		m->sample_type[m->n_sample_type++] = value_type(p, types[i][0], types[i][1]);
	add_mappings(p);
	ma_metric inuse = o->metric == MA_METRIC_LEAKS ? MA_METRIC_LEAKS : MA_METRIC_PEAK;
	ma_loc *view = malloc(VIEW_MAX * sizeof *view);
	if (!view)
		p->oom = 1;
	else
		add_samples(p, inuse, o, view);
	if (view && p->base)
		add_base_samples(p, inuse, o, view);
	free(view);

	char comment[600];
	char smp[96] = "";
	if (a->sample_interval)
		snprintf(smp, sizeof smp, "; sampled every %llu bytes on average: values are estimates",
			 (unsigned long long)a->sample_interval);
	snprintf(comment, sizeof comment, "memattach capture %s; inuse = memory %s%s%s%s%s",
		 a->command_line ? a->command_line : "", ma_metric_title(inuse),
		 a->filtered ? "; filtered" : "", p->base ? "; minus the base capture " : "",
		 p->base ? o->base : "", smp);
	m->comment = palloc(p, sizeof *m->comment);
	if (m->comment) {
		m->comment[0] = str_id(p, comment);
		m->n_comment = 1;
	}
	m->default_sample_type = str_id(p, o->metric == MA_METRIC_TOTAL ? "alloc_space"
					   : o->metric == MA_METRIC_TEMPORARY ? "temporary_space" : "inuse_space");
	m->time_nanos = (int64_t)a->start_realtime_ns;
	m->duration_nanos = (int64_t)a->duration_ns;
	m->period_type = value_type(p, "space", "bytes");
	/* As Go's heap profiles: values already scaled to estimates, the
	 * period the mean sampling interval in bytes (1: every allocation). */
	m->period = a->sample_interval ? (int64_t)a->sample_interval : 1;
	/* the string table last: every string is in it by now */
	m->string_table = p->strs.s;
	m->n_string_table = p->strs.n;
	return p->oom ? -1 : 0;
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
		size_t have = sizeof out - z.avail_out;
		if (zr == Z_STREAM_ERROR || (have && fwrite(out, 1, have, f) != have)) {
			deflateEnd(&z);
			return -1;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	return 0;
}

static void profile_free(profile *p)
{
	for (size_t i = 0; i < p->nmem; i++)
		free(p->mem[i]);
	free(p->mem);
	ma_strtab_free(&p->strs);
	ma_u64map_free(&p->locs);
	ma_u64map_free(&p->funcs);
	ma_u64map_free(&p->tids);
}

int ma_report_pprof(const ma_report_args *args)
{
	if (args->out == stdout && isatty(1)) {
		fprintf(stderr, "memattach report: pprof output is binary: give -o FILE (e.g. -o profile.pb.gz)\n");
		return MA_EXIT_USAGE;
	}
	ma_analysis *a;
	ma_analyze_want want = { .by_thread = 1 };
	int rc = ma_report_analyze_with(args, &want, &a);
	if (rc != MA_EXIT_OK)
		return rc;
	ma_analysis *base = NULL;
	if (args->opts.base && (rc = ma_report_analyze_base(args, &base)) != MA_EXIT_OK) {
		ma_analysis_free(a);
		return rc;
	}
	profile p = { .a = a, .base = base };
	uint8_t *packed = NULL;
	size_t n = 0;
	if (build(&p, &args->opts) == 0) {
		n = memattach__pprof__profile__get_packed_size(&p.msg);
		packed = malloc(n ? n : 1);
	}
	if (!packed) {
		fprintf(stderr, "memattach report: out of memory building the profile\n");
		rc = MA_EXIT_ERROR;
	} else {
		memattach__pprof__profile__pack(&p.msg, packed);
		if (write_gzip(args->out, packed, n) < 0) {
			fprintf(stderr, "memattach report: cannot write the profile: %s\n", strerror(errno));
			rc = MA_EXIT_OUTPUT;
		}
	}
	free(packed);
	profile_free(&p);
	ma_analysis_free(base);
	ma_analysis_free(a);
	return rc;
}

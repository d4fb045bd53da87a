/* stub_symbolize.c — the fuzzers' stand-in for cli/symbols: they exercise
 * what the CLI decodes, not libdw on files named by the input (nothing is
 * symbolized: reports show addresses).  The stubs read every field they
 * are given, so a bad pointer shows. */
#include <stdlib.h>
#include <string.h>
#include "cli/symbols/capture_root.h"
#include "cli/symbols/resymbolize.h"
#include "cli/symbols/symbolize.h"

static volatile size_t touched;

int ma_symbolize_capture(const char *capture_path, ma_capture_writer *w,
			 const char *root_prefix, char *err, size_t errlen)
{
	(void)capture_path, (void)w, (void)root_prefix, (void)err, (void)errlen;
	return 0;
}

int ma_symbolize_prewarm_start(const char *root_prefix)
{
	(void)root_prefix;
	return 0;
}

void ma_symbolize_prewarm_module(const Memattach__Module *mm)
{
	touched += strlen(mm->path) + mm->build_id.len;
	for (size_t i = 0; i < mm->n_segments; i++)
		touched += mm->segments[i]->end - mm->segments[i]->start;
	for (size_t i = 0; i < mm->build_id.len; i++)
		touched += mm->build_id.data[i];
}

void ma_symbolize_prewarm_stack(const Memattach__Stack *st)
{
	for (size_t i = 0; i < st->n_frames; i++)
		touched += st->frames[i];
}

void ma_symbolize_prewarm_end(void)
{
}

long ma_resymbolize(const char *in, const char *out, int add_trailer, const char *root_prefix,
		    char *err, size_t errlen)
{
	(void)in, (void)out, (void)add_trailer, (void)root_prefix, (void)err, (void)errlen;
	return 0;
}

int ma_symbol_root_choose(const char *capture, const char *user_root, struct ma_symbol_root *out,
			  char *err, size_t errlen)
{
	(void)capture, (void)user_root, (void)err, (void)errlen;
	out->prefix[0] = out->from[0] = 0;
	out->other = 0;
	return 0;
}

int ma_capture_lacks_symbols(const char *path)
{
	(void)path;
	return 0;
}

/* The plan: fed as the real one is, symbolizes nothing. */
struct ma_symbol_plan {
	size_t records;
};

ma_symbol_plan *ma_symbol_plan_new(void)
{
	return calloc(1, sizeof(struct ma_symbol_plan));
}

void ma_symbol_plan_module(ma_symbol_plan *p, const Memattach__Module *mm)
{
	if (!p)
		return;
	p->records++;
	ma_symbolize_prewarm_module(mm);
}

void ma_symbol_plan_unload(ma_symbol_plan *p, uint64_t load_address)
{
	if (p)
		touched += load_address + p->records++;
}

void ma_symbol_plan_stack(ma_symbol_plan *p, const Memattach__Stack *st)
{
	if (!p)
		return;
	p->records++;
	ma_symbolize_prewarm_stack(st);
}

void ma_symbol_plan_free(ma_symbol_plan *p)
{
	free(p);
}

int ma_symbolize_planned(ma_symbol_plan *p, ma_capture_writer *w, const char *root_prefix,
			 char *err, size_t errlen)
{
	(void)w, (void)root_prefix, (void)err, (void)errlen;
	ma_symbol_plan_free(p);
	return 0;
}

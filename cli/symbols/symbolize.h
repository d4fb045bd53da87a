/* symbolize.h — at the end of a capture, while the target's binaries are
 * still at hand, turn every native stack address into a Symbol record in
 * the capture itself, so that reports never need the target's machine. */
#ifndef MEMATTACH_SYMBOLIZE_H
#define MEMATTACH_SYMBOLIZE_H

#include <stddef.h>
#include "cli/capture/capture_file.h"

/* Reads the capture written so far at capture_path (flush w first), finds
 * the Module records and the distinct native addresses of the Stack
 * records, and appends one Symbol record per address through w (addresses
 * that already have a Symbol are skipped).  Module files are opened as
 * <root_prefix><path> ("/proc/PID/root" for a live target, so containers
 * work; "" otherwise), then as <path>; a file whose build id differs from
 * the one the target reported is not used.  Separate debug files are found
 * by build id and .gnu_debuglink as elfutils does.  Addresses are return
 * addresses: the lookup uses address-1, the record keeps the address.
 * Returns the number of Symbol records written, or -1 with a one-line
 * message (unreadable capture, write error). */
int ma_symbolize_capture(const char *capture_path, ma_capture_writer *w,
			 const char *root_prefix, char *err, size_t errlen);

/* The same, from what the records told on their way into the file, so
 * that the end need not read the capture back: a plan is fed every
 * Module, ModuleUnload and Stack record written to the capture, in file
 * order (none may bypass it), and ma_symbolize_planned appends the Symbol
 * records and frees the plan.  A NULL plan (out of memory) ignores what
 * it is fed: the caller symbolizes from the file instead. */
typedef struct ma_symbol_plan ma_symbol_plan;
ma_symbol_plan *ma_symbol_plan_new(void);
void ma_symbol_plan_module(ma_symbol_plan *p, const Memattach__Module *mm);
void ma_symbol_plan_unload(ma_symbol_plan *p, uint64_t load_address);
void ma_symbol_plan_stack(ma_symbol_plan *p, const Memattach__Stack *st);
int ma_symbolize_planned(ma_symbol_plan *p, ma_capture_writer *w, const char *root_prefix,
			 char *err, size_t errlen);
void ma_symbol_plan_free(ma_symbol_plan *p);
/* Opening modules ahead, while the capture runs: start a worker thread,
 * tell it the modules (Module records) and the stacks as they arrive; each
 * module a stack uses is opened once, in the background, and
 * ma_symbolize_capture takes it over.  _end frees what was not taken. */
int ma_symbolize_prewarm_start(const char *root_prefix);
void ma_symbolize_prewarm_module(const Memattach__Module *mm);
void ma_symbolize_prewarm_stack(const Memattach__Stack *st);
/* Waits until the worker has done every module and address given so far
 * (the Python Tracker's start: that work before the tracked program runs,
 * as under `run` it overlaps the interpreter's start). */
void ma_symbolize_prewarm_wait(void);
/* Queues the module whose file is named base, before any stack uses it. */
void ma_symbolize_prewarm_named(const char *base);
void ma_symbolize_prewarm_end(void);

/* Looking native addresses up while the capture runs (memattach live):
 * the same names as the capture's end gives, one address at a time; each
 * module is opened once, on first use, as the target's user. */
typedef struct ma_symbolizer ma_symbolizer;
ma_symbolizer *ma_symbolizer_new(const char *root_prefix);
/* Module and ModuleUnload records, as they come.  0, or -1 on OOM. */
int ma_symbolizer_module(ma_symbolizer *z, const Memattach__Module *mm);
void ma_symbolizer_unload(ma_symbolizer *z, uint64_t load_address);
/* Calls cb with the Symbol record of addr (valid during the call).  0, or
 * -1 when no module holds addr or its file cannot be read. */
int ma_symbolizer_lookup(ma_symbolizer *z, uint64_t addr,
			 void (*cb)(void *ctx, const Memattach__Symbol *s), void *ctx);
void ma_symbolizer_free(ma_symbolizer *z);

#endif

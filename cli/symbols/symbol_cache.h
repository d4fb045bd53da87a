/* symbol_cache.h — Symbol records kept from one capture to the next, by
 * the module's build id, so that a capture whose addresses were all named
 * before opens no module file at all (libdw inflates every compressed
 * debug section of a file it opens: ~50 ms of CPU for libc6-dbg's, on
 * every capture).
 *
 * One file per (build id, user opening the files, debug files found):
 * <dir>/<build id>-u<uid>-<signature>.msym, a capture container holding
 * only Symbol records (address = module_offset, module empty).  The
 * signature is the identity (device, inode, size, mtime) of the separate
 * debug files libdw would find by build id, so installing or changing one
 * starts a new file.  Only names read from DWARF in the module itself or
 * in one of those files are kept: a name that a later debug file could
 * change (from the symbol table, from a .gnu_debuglink file) is never
 * cached.
 *
 * <dir>: $MEMATTACH_CACHE_DIR, else $XDG_CACHE_HOME/memattach, else
 * $HOME/.cache/memattach (only when that directory is the user's own: not
 * root's files in a user's HOME kept by sudo), with /symbols appended.  MEMATTACH_SYMBOL_CACHE=off
 * turns it off.  Not thread safe: callers serialize (symbolize.c). */
#ifndef MEMATTACH_SYMBOL_CACHE_H
#define MEMATTACH_SYMBOL_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <elfutils/libdwfl.h>
#include "memattach.pb-c.h"

typedef struct ma_symcache ma_symcache;

/* The cache of the module with this build id, whose debug files are
 * looked for under prefix (the target's root, or ""), for files opened as
 * uid: read from its file once per process.  NULL: caching is off, there
 * is no build id, or out of memory. */
ma_symcache *ma_symcache_of(const uint8_t *build_id, size_t len, const char *prefix, unsigned uid);
/* The cached Symbol of the address at module offset off, or NULL.  Valid
 * until the next put; its address and module are not set. */
const Memattach__Symbol *ma_symcache_get(const ma_symcache *c, uint64_t off);
/* Whether names found through module m may be kept: its DWARF is its own
 * or in a debug file the signature covers. */
int ma_symcache_may_keep(const ma_symcache *c, Dwfl_Module *m);
/* Keeps a copy of s (by s->module_offset).  0, or -1 when full or out of
 * memory (then it is not kept). */
int ma_symcache_put(ma_symcache *c, const Memattach__Symbol *s);
/* The caches live as long as the process (the captures of one run share
 * them).  Writes every cache that gained records to its file (atomically; errors
 * are ignored: the cache is an aid, never needed). */
void ma_symcache_save_all(void);

#endif

/* safepoint.c — is the stopped thread somewhere we may call dlopen from?
 * Not while any frame is in the allocator, the dynamic loader, fork/exit
 * (which hold the allocator's and loader's locks), or a signal handler:
 * our dlopen would take the same non-recursive locks on the same thread. */
#include "config.h"
#include "injector/inj_internal.h"
#include "injector/unwind_map.h"

#include <errno.h>
#include <libunwind-ptrace.h>
#include <libunwind.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const unsafe_prefix[] = {
	"malloc", "_int_", "__libc_malloc", "__libc_free", "__libc_calloc",
	"__libc_realloc", "__libc_memalign", "__libc_valloc", "__libc_pvalloc",
	"__libc_dl", "__malloc", "__free", "__posix_memalign", "tcache", "arena",
	"sysmalloc", "systrim", "heap_trim", "_mid_memalign", "ptmalloc",
	"_dl_", "dl_", "__dl", "do_dlopen", "do_dlsym", "do_dlclose", "dlopen",
	"dlmopen", "dlclose", "dlsym", "dlvsym", "dladdr", "dlinfo", "dlerror",
	"_dlerror", "__restore_rt", "__run_exit_handlers", "__run_fork_handlers",
	"__libc_fork", "_Fork", "__pthread_create", "pthread_create", "allocate_stack",
	NULL,
};
static const char *const unsafe_exact[] = {
	"free", "cfree", "realloc", "calloc", "memalign", "posix_memalign",
	"aligned_alloc", "valloc", "pvalloc", "reallocarray", "unlink_chunk",
	"munmap_chunk", "mremap_chunk", "new_heap", "grow_heap", "shrink_heap",
	"mtrim", "fork", "vfork", "exit", "_exit", NULL,
};

int ma_inj_unsafe_name(const char *name)
{
	int i;

	if (strncmp(name, "__GI_", 5) == 0)
		name += 5;
	for (i = 0; unsafe_prefix[i]; i++)
		if (strncmp(name, unsafe_prefix[i], strlen(unsafe_prefix[i])) == 0)
			return 1;
	for (i = 0; unsafe_exact[i]; i++)
		if (strcmp(name, unsafe_exact[i]) == 0)
			return 1;
	return 0;
}

/* libunwind's search of a remote .eh_frame_hdr table: exported by
 * libunwind (libunwind-ptrace uses it), not declared in its headers. */
extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip,
					      unw_dyn_info_t *di, unw_proc_info_t *pi,
					      int need_unwind_info, void *arg);

/* One look: the module map, registers through ptrace, memory through the
 * map's page cache filled with process_vm_readv. */
struct look {
	struct ma_umap *map;
	void *upt;
};

static int look_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct ma_umap *u = ((struct look *)arg)->map;
	unsigned long pg = addr & ~4095UL, off = addr & 4095;
	unsigned slot = (unsigned)(pg >> 12) % MA_UMAP_PAGES;

	(void)as;
	if (write)
		return -UNW_EREADONLYREG;
	if (off > 4096 - sizeof(*val)) {   /* straddles two pages */
		unsigned char b[sizeof(*val)];
		for (size_t i = 0; i < sizeof(b); i++) {
			unw_word_t w;
			if (look_mem(as, addr + i - (addr + i) % sizeof(w), &w, 0, arg))
				return -UNW_EINVAL;
			b[i] = ((unsigned char *)&w)[(addr + i) % sizeof(w)];
		}
		memcpy(val, b, sizeof(b));
		return 0;
	}
	if (u->page[slot] != pg + 1) {
		if (ma_inj_mem_read(u->pid, pg, u->data[slot], 4096)) {
			u->page[slot] = 0;
			return -UNW_EINVAL;
		}
		u->page[slot] = pg + 1;
	}
	memcpy(val, u->data[slot] + off, sizeof(*val));
	return 0;
}

static int look_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi,
			  int need_unwind_info, void *arg)
{
	struct look *l = arg;
	const struct ma_umap_mod *mod = ma_umap_find(l->map, ip);
	unw_dyn_info_t di;

	if (!mod || !mod->table)
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = mod->lo;
	di.end_ip = mod->hi;
	di.u.rti.segbase = mod->eh_hdr;
	di.u.rti.table_data = mod->table;
	di.u.rti.table_len = mod->fde_count * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need_unwind_info, arg);
}

static void look_put_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	_UPT_put_unwind_info(as, pi, ((struct look *)arg)->upt);
}

static int look_dyn_list(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	(void)as, (void)addr, (void)arg;
	return -UNW_ENOINFO;
}

static int look_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	return _UPT_access_reg(as, reg, val, write, ((struct look *)arg)->upt);
}

static int look_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
		      void *arg)
{
	return _UPT_access_fpreg(as, reg, val, write, ((struct look *)arg)->upt);
}

static int look_resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	(void)as, (void)c, (void)arg;
	return -UNW_EINVAL;
}

static int look_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
		     unw_word_t *off, void *arg)
{
	(void)as, (void)addr, (void)buf, (void)len, (void)off, (void)arg;
	return -UNW_ENOINFO;
}

static unw_accessors_t look_accessors = {
	.find_proc_info = look_proc_info,
	.put_unwind_info = look_put_info,
	.get_dyn_info_list_addr = look_dyn_list,
	.access_mem = look_mem,
	.access_reg = look_reg,
	.access_fpreg = look_fpreg,
	.resume = look_resume,
	.get_proc_name = look_name,
};

int ma_inj_thread_is_safe(struct ma_umap *map, pid_t tid, int *stale, char *why, size_t whysz)
{
	struct look look = { map, NULL }, *l = &look;
	unw_addr_space_t as = NULL;
	unw_cursor_t c;
	int depth, rc = 1;

	snprintf(why, whysz, "?");
	*stale = 0;
	/* the stack changed since the last look; code and tables did not */
	for (int i = 0; i < MA_UMAP_PAGES; i++)
		if (map->page[i] && ma_umap_find(map, map->page[i] - 1) == NULL)
			map->page[i] = 0;
	if (!map->as)
		ma_inj_safepoint_warm(map);
	if (!(as = map->as) || !(l->upt = _UPT_create(tid))) {
		rc = -1;
		goto out;
	}
	if (unw_init_remote(&c, as, l) < 0) {
		snprintf(why, whysz, "stack could not be unwound");
		rc = -1;
		goto out;
	}
	for (depth = 0; depth < 256; depth++) {
		unw_word_t ip = 0;
		const struct ma_umap_mod *mod;
		const char *name;

		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (!(mod = ma_umap_find(map, ip))) {
			snprintf(why, whysz, "code mapped after the look began (pc %#lx)", (unsigned long)ip);
			*stale = 1;
			rc = 0;
			break;
		}
		if (mod->is_loader) {
			snprintf(why, whysz, "the dynamic loader (pc %#lx)", (unsigned long)ip);
			rc = 0;
			break;
		}
		if (unw_is_signal_frame(&c) > 0) {
			snprintf(why, whysz, "a signal handler");
			rc = 0;
			break;
		}
		if ((name = ma_umap_unsafe(mod, ip)) != NULL) {
			snprintf(why, whysz, "%s", name);
			rc = 0;
			break;
		}
		if (unw_step(&c) <= 0)
			break;
	}
out:
	if (l->upt)
		_UPT_destroy(l->upt);
	return rc;
}

/* libunwind sets itself up on first use (its tables, its caches, the
 * address space's): done before a thread is stopped, on our own stack and
 * with the address space every look of this injection uses. */
void ma_inj_safepoint_warm(struct ma_umap *map)
{
	unw_context_t uc;
	unw_cursor_t c;
	int i;

	if (unw_getcontext(&uc) == 0 && unw_init_local(&c, &uc) == 0)
		for (i = 0; i < 8 && unw_step(&c) > 0; i++)
			;
	if (!map->as && (map->as = unw_create_addr_space(&look_accessors, 0)) != NULL)
		unw_set_caching_policy(map->as, UNW_CACHE_GLOBAL);
}

/* A pc in code the map does not know: the map is made again, with the
 * thread running (a stopped process's thread stays where it is). */
static int refresh_map(struct ma_inj *inj, struct ma_inj_error *err)
{
	pid_t tid = inj->tid;

	if (!inj->group_stopped && ma_inj_detach_thread(inj))
		return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno, "thread %d is gone", (int)tid);
	ma_inj_hurry(0);   /* reading symbol tables: no realtime priority for that */
	ma_umap_free(inj->umap);
	ma_umap_build(inj->pid, inj->umap);
	ma_inj_safepoint_warm(inj->umap);
	ma_inj_hurry(1);
	return inj->group_stopped ? 0 : ma_inj_attach_thread(inj, tid, err);
}

int ma_inj_find_safe_point(struct ma_inj *inj, int timeout_ms, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
	pid_t tids[256];
	int ntids = 0, idx = 0, tried = 0, rc, on_thread = 0, stale, refreshed = 0;
	char why[300] = "?";

	for (;;) {
		inj->attempts++;
		on_thread++;
		/* a thread whose own seccomp filter forbids a call of ours (one
		 * installed without TSYNC) is passed over */
		const char *forbidden = NULL;
		if (on_thread == 1 && !ma_inj_thread_seccomp_ok(inj, inj->seccomp_memfd, &forbidden)) {
			snprintf(why, sizeof(why), "a seccomp filter forbidding %s", forbidden);
			on_thread = 3;
			stale = 0;
		} else if (ma_inj_thread_is_safe(inj->umap, inj->tid, &stale, why, sizeof(why)) == 1) {
			return ma_inj_prepare(inj, err);
		}
		if (ma_inj_now_ms() > deadline)
			break;
		if (stale && refreshed++ < 3) {
			if ((rc = refresh_map(inj, err)) != 0)
				return rc;
			on_thread--;
			continue;
		}
		/* A thread of a stopped (SIGSTOP) process does not move: try the
		 * next one.  A running one gets a few ms before the next look,
		 * and after three looks another thread gets its turn. */
		if (!inj->group_stopped && on_thread < 3) {
			/* longer and longer: a thread flooded with signals needs time
			 * to get through its handlers */
			long us = 500L << (inj->attempts < 5 ? inj->attempts : 5);
			if ((rc = ma_inj_let_run(inj, us + (inj->attempts * 397) % 1000, err)) != 0)
				return rc;
			continue;
		}
		if (!ntids)
			ntids = ma_list_threads(inj->pid, tids, 256);
		if (inj->group_stopped && ++tried >= ntids)
			return ma_inj_fail(err, MA_INJ_ERR_NO_SAFE_POINT, 0,
					   "process %d is stopped (SIGSTOP) with every thread inside %s: "
					   "resume it (kill -CONT %d) and retry", (int)inj->pid, why,
					   (int)inj->pid);
		if (ntids < 2) {
			on_thread = 0;
			continue;
		}
		ma_inj_detach_thread(inj);
		on_thread = 0;
		for (;;) {
			idx = (idx + 1) % ntids;
			if ((rc = ma_inj_attach_thread(inj, tids[idx], err)) == 0)
				break;
			if (rc != MA_INJ_ERR_TARGET_GONE || ma_inj_now_ms() > deadline)
				return rc;   /* inj has no thread now: caller frees it */
		}
	}
	return ma_inj_fail(err, MA_INJ_ERR_NO_SAFE_POINT, 0,
			   "no thread of process %d got out of %s within %d ms: the program is too busy "
			   "in malloc or the loader; retry", (int)inj->pid, why,
			   timeout_ms > 0 ? timeout_ms : 2000);
}

/* safepoint.c — is the stopped thread somewhere we may call dlopen from?
 * Not while any frame is in the allocator, the dynamic loader, fork/exit
 * (which hold the allocator's and loader's locks), or a signal handler:
 * our dlopen would take the same non-recursive locks on the same thread. */
#include "config.h"
#include "injector/inj_internal.h"

#include <libunwind-ptrace.h>
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

static int unsafe_name(const char *name)
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

int ma_inj_thread_is_safe(pid_t pid, pid_t tid, char *why, size_t whysz)
{
	unsigned long ld_lo = 0, ld_hi = 0;
	unw_addr_space_t as;
	unw_cursor_t c;
	void *ui;
	int depth, rc = 1;

	snprintf(why, whysz, "?");
	if (ma_maps_module_range(pid, "ld-", &ld_lo, &ld_hi, NULL, 0))
		ld_lo = ld_hi = 0;
	as = unw_create_addr_space(&_UPT_accessors, 0);
	if (!as)
		return -1;
	ui = _UPT_create(tid);
	if (!ui) {
		unw_destroy_addr_space(as);
		return -1;
	}
	if (unw_init_remote(&c, as, ui) < 0) {
		snprintf(why, whysz, "stack could not be unwound");
		rc = -1;
		goto out;
	}
	for (depth = 0; depth < 256; depth++) {
		char name[256];
		unw_word_t off, ip = 0;

		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (ip >= ld_lo && ip < ld_hi) {
			snprintf(why, whysz, "the dynamic loader (pc %#lx)", (unsigned long)ip);
			rc = 0;
			break;
		}
		if (unw_is_signal_frame(&c) > 0) {
			snprintf(why, whysz, "a signal handler");
			rc = 0;
			break;
		}
		if (unw_get_proc_name(&c, name, sizeof(name), &off) == 0 && unsafe_name(name)) {
			snprintf(why, whysz, "%s", name);
			rc = 0;
			break;
		}
		if (unw_step(&c) <= 0)
			break;
	}
out:
	_UPT_destroy(ui);
	unw_destroy_addr_space(as);
	return rc;
}

int ma_inj_find_safe_point(struct ma_inj *inj, int timeout_ms, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
	pid_t tids[256];
	int ntids = 0, idx = 0, tried = 0, rc, on_thread = 0;
	char why[300] = "?";

	for (;;) {
		inj->attempts++;
		on_thread++;
		if (ma_inj_thread_is_safe(inj->pid, inj->tid, why, sizeof(why)) == 1)
			return ma_inj_prepare(inj, err);
		if (ma_inj_now_ms() > deadline)
			break;
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

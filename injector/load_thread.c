/* load_thread.c — dlopen, dlsym and the entry call on a thread of the
 * target's own, so that the thread the injector stops runs only a mmap and
 * pthread_create (DESIGN "Attach stall").  The seized thread maps a page
 * (struct ma_load_block), the injector fills it, the seized thread starts
 * the loader thread on it (the start routine is in the stub's page) and is
 * released; the injector then polls the page with process_vm_readv.  The
 * loader thread publishes its outcome, waits up to 5 s for the injector's
 * ack (the dlerror text lives until then), unmaps the page and ends. */
#include "config.h"
#include "injector/inj_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define START_CALL_MS 2000

_Static_assert(sizeof(struct ma_load_block) == 4096, "the block is one page");
_Static_assert(offsetof(struct ma_load_block, fn_dlopen) == 32 &&
	       offsetof(struct ma_load_block, fn_self) == 56 &&
	       offsetof(struct ma_load_block, path) == 80 &&
	       offsetof(struct ma_load_block, ack_poll) == 104 &&
	       offsetof(struct ma_load_block, tid) == 120 &&
	       offsetof(struct ma_load_block, name) == 128 &&
	       offsetof(struct ma_load_block, data) == 144,
	       "the loader thread's assembly reads these offsets");

/* Copies s into the block's data at *used; its address in the target. */
static uint64_t put_string(struct ma_load_block *b, unsigned long at, size_t *used, const char *s)
{
	size_t n = strlen(s) + 1;
	uint64_t addr = at + offsetof(struct ma_load_block, data) + *used;

	if (*used + n > sizeof(b->data))
		return 0;
	memcpy(b->data + *used, s, n);
	*used += n;
	return addr;
}

static int fill_block(struct ma_load_block *b, unsigned long at, const struct ma_load_req *req)
{
	size_t used = 0;

	memset(b, 0, sizeof(*b));
	b->fn_dlopen = req->syms->dlopen;
	b->fn_dlsym = req->syms->dlsym;
	b->fn_dlerror = req->syms->dlerror;
	b->fn_self = req->syms->pthread_self;
	b->fn_detach = req->syms->pthread_detach;
	b->dlopen_mode = RTLD_NOW | req->syms->dlopen_flag;
	b->ack_poll[1] = 1000000;
	snprintf(b->name, sizeof(b->name), "memattach-load");
	b->path = put_string(b, at, &used, req->so_path);
	if (req->entry_symbol)   /* else a library only (arg: its soname) */
		b->entry = put_string(b, at, &used, req->entry_symbol);
	if (req->arg)
		b->arg = put_string(b, at, &used, req->arg);
	return b->path && (!req->entry_symbol || b->entry) && (!req->arg || b->arg) ? 0 : -1;
}

/* On the seized thread: the page, then pthread_create.  A failed start
 * unmaps the page again, and the stub's page when it mapped it. */
int ma_inj_load_start(struct ma_inj *inj, struct ma_load_req *req, struct ma_inj_error *err)
{
	unsigned long map_args[6] = { 0, sizeof(struct ma_load_block), PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, (unsigned long)-1, 0 };
	unsigned long a[4], block, slot, ret, mmap_fn = inj->mmap_fn;
	struct ma_load_block b;
	int rc;

	if (!mmap_fn && (rc = ma_inj_lookup(inj->pid, "libc.so", "mmap", &mmap_fn, err)) != 0)
		return rc;
	inj->mmap_fn = mmap_fn;
	if (!(slot = ma_inj_push_data(inj, &(uint64_t){ 0 }, sizeof(uint64_t), err)))
		return err ? err->code : MA_INJ_ERR_CALL;
	if ((rc = ma_inj_call(inj, mmap_fn, map_args, 6, &block, START_CALL_MS, err)) != 0)
		return rc;
	if (block == (unsigned long)MAP_FAILED) {   /* libc's mmap: its errno is the target's */
		ma_inj_stub_remove(inj, req->syms->munmap);
		return ma_inj_page_failed(err, inj->pid, ENOMEM);
	}
	if (fill_block(&b, block, req))
		rc = ma_inj_fail(err, MA_INJ_ERR_CALL, E2BIG, "the library path or argument is too long");
	else if (ma_inj_mem_write(inj->tid, block, &b, sizeof(b)))
		rc = ma_inj_fail(err, MA_INJ_ERR_CALL, errno, "cannot write to process %d: %s",
				 (int)inj->pid, strerror(errno));
	if (!rc) {
		a[0] = slot;
		a[1] = 0;
		a[2] = inj->stub + MA_LOAD_THREAD_OFF;
		a[3] = block;
		if ((rc = ma_inj_call(inj, req->syms->pthread_create, a, 4, &ret, START_CALL_MS, err)) != 0)
			return rc;   /* a call that did not return keeps its page */
		if ((int)ret == 0) {
			req->block = block;
			return 0;
		}
		rc = ma_inj_thread_failed(err, inj->pid, (int)ret);
	}
	a[0] = block;
	a[1] = sizeof(struct ma_load_block);
	if (req->syms->munmap)
		ma_inj_call(inj, req->syms->munmap, a, 2, &ret, START_CALL_MS, NULL);
	ma_inj_stub_remove(inj, req->syms->munmap);   /* nothing loaded: nothing left */
	return rc;
}

/* dlopen's text when it could not map the library: the target's limits
 * (glibc says a segment's mmap failed with no reason when it was for
 * memory; a noexec mount adds its errno's text). */
static int out_of_memory(const char *dlerror_text)
{
	static const char no_segment[] = "failed to map segment from shared object";
	size_t n = strlen(dlerror_text), k = sizeof(no_segment) - 1;

	return strstr(dlerror_text, "out of memory") || strstr(dlerror_text, strerror(ENOMEM)) ||
	       strstr(dlerror_text, "cannot map zero-fill pages") ||
	       (n >= k && !strcmp(dlerror_text + n - k, no_segment));
}

/* The loader thread's outcome: the entry's result, or which step failed. */
static int outcome(pid_t pid, const struct ma_load_req *req, const struct ma_load_block *b,
		   const char *dlerror_text, long *entry_result, struct ma_inj_error *err)
{
	if (b->state == MA_LOAD_DONE) {
		if (entry_result)
			*entry_result = (long)b->result;
		return 0;
	}
	if (b->state == MA_LOAD_NO_SYMBOL)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "%s has no symbol %s (loaded in process %d): wrong library?",
				   req->so_path, req->entry_symbol, (int)pid);
	if (out_of_memory(dlerror_text))
		return ma_inj_fail(err, MA_INJ_ERR_LIMIT, ENOMEM,
				   "process %d could not map the library for the attach (dlopen: %s): it is "
				   "at its address-space limit (RLIMIT_AS) or out of memory; nothing was "
				   "loaded and it runs on; raise its limit, then attach again", (int)pid,
				   dlerror_text);
	return ma_inj_fail(err, MA_INJ_ERR_DLOPEN, 0, "dlopen(%s) failed in process %d: %s",
			   req->so_path, (int)pid, dlerror_text);
}

/* Reads a string that may end just before an unmapped page: page by page. */
static void read_text(pid_t pid, unsigned long addr, char *buf, size_t size)
{
	size_t got = 0;

	while (got + 1 < size) {
		size_t chunk = 4096 - ((addr + got) & 4095);

		if (chunk > size - 1 - got)
			chunk = size - 1 - got;
		if (ma_inj_mem_read(pid, addr + got, buf + got, chunk))
			break;
		if (memchr(buf + got, '\0', chunk))
			return;
		got += chunk;
	}
	buf[got] = '\0';
}

/* The loader thread sees the ack within 1 ms, unmaps its page and ends:
 * waited for (1 s at most; the page, not the thread id, which a pid
 * namespace numbers otherwise), so that an injection leaves no page
 * behind when it returns. */
static void wait_page_gone(pid_t pid, unsigned long block)
{
	double deadline = ma_inj_now_ms() + 1000;
	uint64_t w;
	long us = 50;

	while (ma_inj_mem_read(pid, block, &w, sizeof(w)) == 0 && ma_inj_now_ms() < deadline) {
		ma_inj_sleep_us(us);
		if (us < 1000)
			us *= 2;
	}
}

int ma_inj_load_wait(pid_t pid, const struct ma_load_req *req, int timeout_ms,
		     long *entry_result, struct ma_inj_error *err)
{
	double deadline = ma_inj_now_ms() + timeout_ms;
	struct ma_load_block b;
	char msg[400] = "no message (dlerror not available)";
	long us = 50;
	uint64_t one = 1;
	int rc;

	ma_inj_checkpoint(MA_STEP_LOADING);
	for (;;) {
		if (ma_inj_mem_read(pid, req->block, &b, offsetof(struct ma_load_block, name)))
			return ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno,
					   "process %d exited during the injection", (int)pid);
		if (b.state != MA_LOAD_RUNNING)
			break;
		if (ma_inj_now_ms() > deadline)
			return ma_inj_fail(err, MA_INJ_ERR_CALL, ETIMEDOUT,
					   "dlopen(%s) or its entry %s did not return within %d ms in "
					   "process %d (deadlock?); it was left to finish on its own",
					   req->so_path, req->entry_symbol ? req->entry_symbol : "(none)", timeout_ms, (int)pid);
		ma_inj_sleep_us(us);
		if (us < 2000)
			us *= 2;
	}
	if (b.state == MA_LOAD_NO_DLOPEN && b.dlerror_text)
		read_text(pid, b.dlerror_text, msg, sizeof(msg));
	rc = outcome(pid, req, &b, msg, entry_result, err);
	/* the thread may unmap its page and end now */
	ma_inj_mem_write(pid, req->block + offsetof(struct ma_load_block, ack), &one, sizeof(one));
	wait_page_gone(pid, req->block);
	return rc;
}

/* The loader thread runs its last instructions in the stub's page after
 * unmapping its own: its name gone from the process, the page is free
 * (1 s at most; 1 when gone). */
int ma_inj_load_thread_gone(pid_t pid)
{
	double deadline = ma_inj_now_ms() + 1000;
	pid_t tids[1024];
	int i, n, found;

	do {
		n = ma_list_threads(pid, tids, 1024);
		for (found = 0, i = 0; i < n && !found; i++) {
			struct ma_proc_stat st;

			found = ma_proc_task_stat(pid, tids[i], &st) == 0 &&
				!strcmp(st.comm, "memattach-load");
		}
		if (!found)
			return 1;
		ma_inj_sleep_us(1000);
	} while (ma_inj_now_ms() < deadline);
	return 0;
}

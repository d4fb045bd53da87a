/* py_alloc.c — --trace-python-allocators: wraps the PyMem RAW, MEM and
 * OBJ domains (PyMem_GetAllocator / PyMem_SetAllocator) and records
 * PYMEM_*_ALLOC / PYMEM_*_FREE events.
 *
 * Installing and removing need the GIL once Python runs: a short-lived
 * thread of ours takes it with PyGILState_Ensure, never the writer (a
 * target that keeps the GIL must not stall the stream), and stop waits for
 * the removal one second at most.  Before Py_Initialize (memattach run) and after
 * finalization no other thread runs Python and no GIL is needed.  When
 * removal cannot be done (GIL never obtained, or someone wrapped our
 * allocator since) the wrappers stay and pass straight through.
 *
 * While a wrapper runs it holds the agent's guard, so the malloc or mmap
 * pymalloc makes underneath is not recorded a second time. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>
#include "memattach.pb-c.h"
#include "py_agent.h"
#include "../sampler.h"

typedef struct {
	void *ctx;
	void *(*malloc)(void *ctx, size_t size);
	void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
	void *(*realloc)(void *ctx, void *ptr, size_t new_size);
	void (*free)(void *ctx, void *ptr);
} pymem_allocator;

struct domain {
	pymem_allocator prev;
	uint32_t alloc_kind, free_kind;
};

static struct domain doms[3] = {
	{ .alloc_kind = MEMATTACH__EVENT_KIND__PYMEM_RAW_ALLOC,
	  .free_kind = MEMATTACH__EVENT_KIND__PYMEM_RAW_FREE },
	{ .alloc_kind = MEMATTACH__EVENT_KIND__PYMEM_MEM_ALLOC,
	  .free_kind = MEMATTACH__EVENT_KIND__PYMEM_MEM_FREE },
	{ .alloc_kind = MEMATTACH__EVENT_KIND__PYMEM_OBJ_ALLOC,
	  .free_kind = MEMATTACH__EVENT_KIND__PYMEM_OBJ_FREE },
};
enum { RAW, MEM, OBJ };
#define TP_FLAGS_OFFSET 168          /* PyTypeObject.tp_flags, 3.8-3.13 */
#define TPFLAGS_HAVE_GC (1ul << 14)
static int installed[3];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int wanted;                /* under lock: a session wants the wrappers */

static void (*get_alloc)(int, pymem_allocator *);
static void (*set_alloc)(int, pymem_allocator *);
static int (*is_initialized)(void);
static int (*gil_ensure)(void);
static void (*gil_release)(int);

#define PASS() (!atomic_load_explicit(&ma_tracking, memory_order_relaxed) || ma_tls.guard)

/* MEM and OBJ calls hold the GIL; the stack capture is a stretch a
 * detach waits for (ma_enter). */
static inline void record_alloc(struct domain *d, void *p, size_t n)
{
	struct ma_thread *t;
	if (p && ma_sample_alloc(d->alloc_kind, p, n) && (t = ma_enter())) {
		ma_record(d->alloc_kind, (uintptr_t)p, n, ma_stack_capture_py(d != &doms[RAW]));
		ma_leave(t);
	}
}

static void *w_malloc(void *ctx, size_t n)
{
	struct domain *d = ctx;
	if (PASS())
		return d->prev.malloc(d->prev.ctx, n);
	ma_tls.guard++;
	void *p = d->prev.malloc(d->prev.ctx, n);
	record_alloc(d, p, n);
	ma_tls.guard--;
	return p;
}

static void *w_calloc(void *ctx, size_t a, size_t b)
{
	struct domain *d = ctx;
	if (PASS())
		return d->prev.calloc(d->prev.ctx, a, b);
	ma_tls.guard++;
	void *p = d->prev.calloc(d->prev.ctx, a, b);
	record_alloc(d, p, a * b);
	ma_tls.guard--;
	return p;
}

static void *w_realloc(void *ctx, void *old, size_t n)
{
	struct domain *d = ctx;
	if (PASS())
		return d->prev.realloc(d->prev.ctx, old, n);
	ma_tls.guard++;
	void *p;
	if (!old) {
		p = d->prev.realloc(d->prev.ctx, old, n);
		record_alloc(d, p, n);
	} else {
		/* The old block's release is sequenced before the call. */
		int sampled = ma_sample_free(old);   /* --sample: recorded only if old was */
		uint64_t s = sampled ? ma_seq_reserve() : UINT64_MAX;
		p = d->prev.realloc(d->prev.ctx, old, n);
		if (p) {
			ma_record_reserved(s, d->free_kind, (uintptr_t)old, 0);
			record_alloc(d, p, n);
		} else {
			ma_seq_abandon(s);
			if (sampled && ma_cfg.sample)
				ma_sample_restore((uintptr_t)old);
		}
	}
	ma_tls.guard--;
	return p;
}

/* Code objects are not GC objects (checked when installing): a block
 * whose second word is PyCode_Type may be a dying code object, and the
 * frame caches' epoch moves on.  A false alarm only costs cache misses. */
static inline void note_code_death(uintptr_t p)
{
	if (((const uintptr_t *)p)[1] == ma_py.code_type)
		atomic_fetch_add_explicit(&ma_py_code_epoch, 1, memory_order_relaxed);
}

static void w_free(void *ctx, void *p)
{
	struct domain *d = ctx;
	if (p && d == &doms[OBJ])
		note_code_death((uintptr_t)p);
	if (!p || PASS()) {
		d->prev.free(d->prev.ctx, p);
		return;
	}
	ma_tls.guard++;
	if (ma_sample_free(p))
		ma_record(d->free_kind, (uintptr_t)p, 0, 0);
	d->prev.free(d->prev.ctx, p);
	ma_tls.guard--;
}

static int resolve(void)
{
	get_alloc = (void (*)(int, pymem_allocator *))dlsym(RTLD_DEFAULT, "PyMem_GetAllocator");
	set_alloc = (void (*)(int, pymem_allocator *))dlsym(RTLD_DEFAULT, "PyMem_SetAllocator");
	is_initialized = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	gil_ensure = (int (*)(void))dlsym(RTLD_DEFAULT, "PyGILState_Ensure");
	gil_release = (void (*)(int))dlsym(RTLD_DEFAULT, "PyGILState_Release");
	return get_alloc && set_alloc && is_initialized && gil_ensure && gil_release ? 0 : -1;
}

/* Called with the GIL, or when no other thread can run Python. */
/* Fast-mode walks (py_walk.c) take it that memory which held frames goes
 * back only through free and munmap calls the hooks see: true of CPython's
 * own arena allocator, not necessarily of one an embedder installed. */
static int default_arenas(void)
{
	struct {
		void *ctx;
		void *(*alloc)(void *, size_t);
		void (*free)(void *, void *, size_t);
	} a = { 0 };
	void (*get)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "PyObject_GetArenaAllocator");
	Dl_info py, arenas;
	if (!get)
		return 0;
	get(&a);
	return a.free && dladdr((void *)get, &py) && dladdr((void *)a.free, &arenas) &&
	       py.dli_fbase == arenas.dli_fbase;
}

static void do_install(void)
{
	for (int i = 0; i < 3; i++) {
		if (installed[i])
			continue;
		pymem_allocator cur, mine;
		get_alloc(i, &cur);
		if (cur.malloc == w_malloc) {
			installed[i] = 1;   /* still ours from an earlier session */
			continue;
		}
		doms[i].prev = cur;
		mine = (pymem_allocator){ &doms[i], w_malloc, w_calloc, w_realloc, w_free };
		set_alloc(i, &mine);
		installed[i] = 1;
	}
	/* From here every code object's free passes through w_free, where it
	 * is recognised by its type word when code objects have no GC header
	 * in front (Py_TPFLAGS_HAVE_GC in PyTypeObject.tp_flags). */
	unsigned long code_flags = *(const unsigned long *)(ma_py.code_type + TP_FLAGS_OFFSET);
	if (installed[OBJ] && !(code_flags & TPFLAGS_HAVE_GC) && default_arenas()) {
		atomic_store(&ma_mem_gen_on, 1);
		atomic_fetch_add(&ma_mem_gen, 1);
		atomic_fetch_add(&ma_py_code_epoch, 1);
		atomic_store(&ma_py_epoch_trusted, 1);
	}
}

static void do_remove(void)
{
	atomic_store(&ma_py_epoch_trusted, 0);
	atomic_store(&ma_mem_gen_on, 0);
	for (int i = 0; i < 3; i++) {
		if (!installed[i])
			continue;
		pymem_allocator cur;
		get_alloc(i, &cur);
		if (cur.malloc == w_malloc && cur.ctx == &doms[i])
			set_alloc(i, &doms[i].prev);
		/* else wrapped by someone since: we stay, passing through */
		installed[i] = 0;
	}
}

/* Takes the GIL and makes the wrappers what the session wants now, not
 * what it wanted when the thread started: a capture that began and ended
 * while the target held the GIL must leave no wrappers behind, and a late
 * removal must not undo the next capture's install. */
static void *gil_thread(void *arg)
{
	(void)arg;
	ma_tls.guard = 1;
	int st = gil_ensure();
	pthread_mutex_lock(&lock);
	if (wanted)
		do_install();
	else
		do_remove();
	pthread_mutex_unlock(&lock);
	gil_release(st);
	return NULL;
}

/* Removes the wrappers with the GIL, on a thread of ours; waits up to one
 * second. */
static int remove_with_gil(void)
{
	pthread_t th;
	if (pthread_create(&th, NULL, gil_thread, NULL))
		return -1;
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 1;
	if (pthread_timedjoin_np(th, NULL, &dl) == ETIMEDOUT) {
		pthread_detach(th);   /* it finishes whenever the GIL comes */
		return -1;
	}
	return 0;
}

int ma_pyalloc_start(void)
{
	if (!ma_py_present() || (!get_alloc && resolve() < 0))
		return -1;
	pthread_mutex_lock(&lock);
	wanted = 1;
	if (!is_initialized()) {
		do_install();
		pthread_mutex_unlock(&lock);
		return 0;
	}
	pthread_mutex_unlock(&lock);
	/* Attached: the injected call must not wait for the GIL (the
	 * thread it runs on may hold it); the wrappers arrive when it comes. */
	pthread_t th;
	if (pthread_create(&th, NULL, gil_thread, NULL))
		return -1;
	pthread_detach(th);
	return 0;
}

void ma_pyalloc_stop(void)
{
	if (!get_alloc)
		return;
	pthread_mutex_lock(&lock);
	wanted = 0;
	int any = installed[0] | installed[1] | installed[2];
	if (any && !is_initialized())
		do_remove();
	any = installed[0] | installed[1] | installed[2];
	pthread_mutex_unlock(&lock);
	if (any)
		remove_with_gil();
}

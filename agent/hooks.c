/* hooks.c — the functions the patched GOT entries lead to.
 *
 * Each hook calls the real function and records the event; when tracking
 * is off, or the agent is already running on this thread (the guard), it
 * is a plain call.  Releases are recorded before the real release and
 * allocations after the real allocation, so that the sequence numbers
 * order a block's free before its address is handed out again.  Frees
 * carry no stack: reports attribute memory to the allocating stack. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <pthread.h>
#include "agent_internal.h"
#include "sampler.h"
#include "memattach.pb-c.h"

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*reallocarray_fn)(void *, size_t, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*memalign_fn)(size_t, size_t);
typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
typedef int (*munmap_fn)(void *, size_t);
typedef void *(*mremap_fn)(void *, size_t, size_t, int, ...);
typedef void *(*new_nothrow_fn)(size_t, const void *);
typedef void *(*new_align_fn)(size_t, size_t);
typedef void *(*new_align_nothrow_fn)(size_t, size_t, const void *);
typedef void (*delete_sized_fn)(void *, size_t);
typedef void (*delete_align_fn)(void *, size_t);
typedef void (*delete_sized_align_fn)(void *, size_t, size_t);
typedef void (*delete_nothrow_fn)(void *, const void *);
typedef void *(*dlopen_fn)(const char *, int);
typedef int (*dlclose_fn)(void *);
typedef int (*setname_fn)(pthread_t, const char *);

struct ma_line ma_mem_gen_line;
atomic_int ma_mem_gen_on;

void *(*ma_real_malloc)(size_t);
void (*ma_real_free)(void *);
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static reallocarray_fn real_reallocarray;
static posix_memalign_fn real_posix_memalign;
static memalign_fn real_aligned_alloc, real_memalign;
static malloc_fn real_valloc, real_pvalloc;
static mmap_fn real_mmap, real_mmap64;
static munmap_fn real_munmap;
static mremap_fn real_mremap;
static malloc_fn real_new, real_new_array;
static new_nothrow_fn real_new_nt, real_new_array_nt;
static new_align_fn real_new_al, real_new_array_al;
static new_align_nothrow_fn real_new_al_nt, real_new_array_al_nt;
static free_fn real_delete, real_delete_array;
static delete_sized_fn real_delete_sized, real_delete_array_sized;
static delete_align_fn real_delete_al, real_delete_array_al;
static delete_sized_align_fn real_delete_sized_al, real_delete_array_sized_al;
static delete_nothrow_fn real_delete_nt, real_delete_array_nt;
static dlopen_fn real_dlopen;
static dlclose_fn real_dlclose;
static setname_fn real_setname;
/* python/py_thread_start.c: Python threads named as they start. */
int ma_py_h_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) MA_HIDDEN;

/* Guard held for the hook's own work; released even when operator new
 * throws through the hook (the agent is built with -fexceptions). */
static inline void guard_release(unsigned *g) { (void)g; ma_tls.guard--; }
#define GUARDED unsigned ma_guard_ __attribute__((cleanup(guard_release), unused)) = ++ma_tls.guard
#define PASS_THROUGH() \
	(!atomic_load_explicit(&ma_tracking, memory_order_relaxed) || ma_tls.guard)
/* --sample: a free of a block certainly not sampled, counted; no guard
 * taken (nothing is called). */
#define UNSAMPLED_FREE(p) \
	(__builtin_expect(ma_cfg.sample != 0, 0) && ma_sample_free_unsampled(p))

/* The allocation's stack and event.  Out of line: with --sample most
 * calls stop before it, and the hook's own frame stays small. */
static __attribute__((noinline)) void record_alloc(uint32_t kind, void *p, size_t size,
						   uintptr_t hook_fp)
{
	struct ma_thread *t = ma_enter();
	if (t) {
		ma_record(kind, (uintptr_t)p, size, ma_stack_capture_at(hook_fp));
		ma_leave(t);
	}
}

/* Inlined into each hook: its frame address gives the walk its caller's
 * frame directly (the hook gets a frame pointer for it), so the agent's
 * own frames (4 on the malloc path) are not stepped through. */
static inline __attribute__((always_inline)) void on_alloc(uint32_t kind, void *p, size_t size)
{
	if (p && ma_sample_alloc(kind, p, size))
		record_alloc(kind, p, size, (uintptr_t)__builtin_frame_address(0));
}

static inline __attribute__((always_inline)) void on_free(uint32_t kind, void *p)
{
	if (p && ma_sample_free(p))
		ma_record(kind, (uintptr_t)p, 0, 0);
}

#define K(x) MEMATTACH__EVENT_KIND__##x

static void *h_malloc(size_t n)
{
	if (PASS_THROUGH())
		return ma_real_malloc(n);
	GUARDED;
	void *p = ma_real_malloc(n);
	on_alloc(K(MALLOC), p, n);
	return p;
}

static void *h_calloc(size_t a, size_t b)
{
	if (PASS_THROUGH())
		return real_calloc(a, b);
	GUARDED;
	void *p = real_calloc(a, b);
	on_alloc(K(CALLOC), p, a * b);
	return p;
}

static void h_free(void *p)
{
	ma_mem_gen_note();
	if (!p || PASS_THROUGH() || UNSAMPLED_FREE(p)) {
		ma_real_free(p);
		return;
	}
	GUARDED;
	on_free(K(FREE), p);
	ma_real_free(p);
}

/* realloc: the old block's release is sequenced before the call. */
static void *realloc_common(void *p, size_t n, void *(*call)(void *, size_t, size_t),
			    size_t a, size_t b, uint32_t kind)
{
	GUARDED;
	if (!p) {
		void *r = call(p, a, b);
		on_alloc(kind, r, n);
		return r;
	}
	int sampled = ma_sample_free(p);   /* --sample: recorded only if p was */
	uint64_t s = sampled ? ma_seq_reserve() : UINT64_MAX;
	void *r = call(p, a, b);
	if (r) {
		ma_record_reserved(s, K(REALLOC_FREE), (uintptr_t)p, 0);
		on_alloc(kind, r, n);
	} else if (n == 0) {
		ma_record_reserved(s, K(REALLOC_FREE), (uintptr_t)p, 0);  /* freed */
	} else {
		ma_seq_abandon(s);   /* failed: p is still live */
		if (sampled && ma_cfg.sample)
			ma_sample_restore((uintptr_t)p);
	}
	return r;
}

static void *call_realloc(void *p, size_t a, size_t b) { (void)b; return real_realloc(p, a); }
static void *call_reallocarray(void *p, size_t a, size_t b) { return real_reallocarray(p, a, b); }

static void *h_realloc(void *p, size_t n)
{
	ma_mem_gen_note();
	if (PASS_THROUGH())
		return real_realloc(p, n);
	return realloc_common(p, n, call_realloc, n, 0, K(REALLOC));
}

static void *h_reallocarray(void *p, size_t a, size_t b)
{
	ma_mem_gen_note();
	if (PASS_THROUGH())
		return real_reallocarray(p, a, b);
	size_t n;
	if (__builtin_mul_overflow(a, b, &n))
		return real_reallocarray(p, a, b);   /* fails with ENOMEM */
	return realloc_common(p, n, call_reallocarray, a, b, K(REALLOCARRAY));
}

static int h_posix_memalign(void **out, size_t al, size_t n)
{
	if (PASS_THROUGH())
		return real_posix_memalign(out, al, n);
	GUARDED;
	int r = real_posix_memalign(out, al, n);
	if (r == 0)
		on_alloc(K(POSIX_MEMALIGN), *out, n);
	return r;
}

#define ALIGNED_HOOK(name, real, kind)                       \
	static void *name(size_t al, size_t n)               \
	{                                                    \
		if (PASS_THROUGH())                          \
			return real(al, n);                  \
		GUARDED;                                     \
		void *p = real(al, n);                       \
		on_alloc(K(kind), p, n);                     \
		return p;                                    \
	}
ALIGNED_HOOK(h_aligned_alloc, real_aligned_alloc, ALIGNED_ALLOC)
ALIGNED_HOOK(h_memalign, real_memalign, MEMALIGN)

#define SIZE_HOOK(name, real, kind)                          \
	static void *name(size_t n)                          \
	{                                                    \
		if (PASS_THROUGH())                          \
			return real(n);                      \
		GUARDED;                                     \
		void *p = real(n);                           \
		on_alloc(K(kind), p, n);                     \
		return p;                                    \
	}
SIZE_HOOK(h_valloc, real_valloc, VALLOC)
SIZE_HOOK(h_pvalloc, real_pvalloc, PVALLOC)
SIZE_HOOK(h_new, real_new, OPERATOR_NEW)
SIZE_HOOK(h_new_array, real_new_array, OPERATOR_NEW_ARRAY)

#define NEW_NT_HOOK(name, real, kind)                        \
	static void *name(size_t n, const void *nt)          \
	{                                                    \
		if (PASS_THROUGH())                          \
			return real(n, nt);                  \
		GUARDED;                                     \
		void *p = real(n, nt);                       \
		on_alloc(K(kind), p, n);                     \
		return p;                                    \
	}
NEW_NT_HOOK(h_new_nt, real_new_nt, OPERATOR_NEW)
NEW_NT_HOOK(h_new_array_nt, real_new_array_nt, OPERATOR_NEW_ARRAY)

#define NEW_AL_HOOK(name, real, kind)                        \
	static void *name(size_t n, size_t al)               \
	{                                                    \
		if (PASS_THROUGH())                          \
			return real(n, al);                  \
		GUARDED;                                     \
		void *p = real(n, al);                       \
		on_alloc(K(kind), p, n);                     \
		return p;                                    \
	}
NEW_AL_HOOK(h_new_al, real_new_al, OPERATOR_NEW)
NEW_AL_HOOK(h_new_array_al, real_new_array_al, OPERATOR_NEW_ARRAY)

#define NEW_AL_NT_HOOK(name, real, kind)                     \
	static void *name(size_t n, size_t al, const void *nt) \
	{                                                    \
		if (PASS_THROUGH())                          \
			return real(n, al, nt);              \
		GUARDED;                                     \
		void *p = real(n, al, nt);                   \
		on_alloc(K(kind), p, n);                     \
		return p;                                    \
	}
NEW_AL_NT_HOOK(h_new_al_nt, real_new_al_nt, OPERATOR_NEW)
NEW_AL_NT_HOOK(h_new_array_al_nt, real_new_array_al_nt, OPERATOR_NEW_ARRAY)

#define DELETE_HOOK(name, real, kind, params, args)          \
	static void name params                              \
	{                                                    \
		if (!p || PASS_THROUGH() || UNSAMPLED_FREE(p)) { \
			real args;                           \
			return;                              \
		}                                            \
		GUARDED;                                     \
		on_free(K(kind), p);                         \
		real args;                                   \
	}
DELETE_HOOK(h_delete, real_delete, OPERATOR_DELETE, (void *p), (p))
DELETE_HOOK(h_delete_array, real_delete_array, OPERATOR_DELETE_ARRAY, (void *p), (p))
DELETE_HOOK(h_delete_sized, real_delete_sized, OPERATOR_DELETE, (void *p, size_t n), (p, n))
DELETE_HOOK(h_delete_array_sized, real_delete_array_sized, OPERATOR_DELETE_ARRAY,
	    (void *p, size_t n), (p, n))
DELETE_HOOK(h_delete_al, real_delete_al, OPERATOR_DELETE, (void *p, size_t al), (p, al))
DELETE_HOOK(h_delete_array_al, real_delete_array_al, OPERATOR_DELETE_ARRAY,
	    (void *p, size_t al), (p, al))
DELETE_HOOK(h_delete_sized_al, real_delete_sized_al, OPERATOR_DELETE,
	    (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(h_delete_array_sized_al, real_delete_array_sized_al, OPERATOR_DELETE_ARRAY,
	    (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(h_delete_nt, real_delete_nt, OPERATOR_DELETE, (void *p, const void *nt), (p, nt))
DELETE_HOOK(h_delete_array_nt, real_delete_array_nt, OPERATOR_DELETE_ARRAY,
	    (void *p, const void *nt), (p, nt))

/* Only anonymous mappings are memory the program asked for; file
 * mappings are not heap. */
static void *mmap_common(mmap_fn real, void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	if (PASS_THROUGH())
		return real(a, n, prot, fl, fd, off);
	GUARDED;
	void *p = real(a, n, prot, fl, fd, off);
	if (p != MAP_FAILED && (fl & MAP_ANONYMOUS))
		on_alloc(K(MMAP), p, n);
	return p;
}

static void *h_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	return mmap_common(real_mmap, a, n, prot, fl, fd, off);
}

static void *h_mmap64(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	return mmap_common(real_mmap64, a, n, prot, fl, fd, off);
}

static int h_munmap(void *a, size_t n)
{
	ma_mem_gen_note();
	if (PASS_THROUGH())
		return real_munmap(a, n);
	GUARDED;
	ma_record(K(MUNMAP), (uintptr_t)a, n, 0);
	return real_munmap(a, n);
}

static void *h_mremap(void *old, size_t old_n, size_t new_n, int flags, ...)
{
	void *want = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	ma_mem_gen_note();
	if (PASS_THROUGH())
		return real_mremap(old, old_n, new_n, flags, want);
	GUARDED;
	uint64_t s = ma_seq_reserve();
	void *r = real_mremap(old, old_n, new_n, flags, want);
	if (r == MAP_FAILED) {
		ma_seq_abandon(s);
		return r;
	}
	ma_record_reserved(s, K(MREMAP_FREE), (uintptr_t)old, old_n);
	on_alloc(K(MREMAP), r, new_n);
	return r;
}

/* Objects loaded later get their GOT entries patched as soon as dlopen
 * returns (their constructors ran before: those allocations are missed). */
static void *h_dlopen(const char *file, int mode)
{
	void *h = real_dlopen(file, mode);
	if (h && atomic_load(&ma_tracking)) {
		GUARDED;
		ma_got_patch_all();
		ma_modules_mark_dirty();
	}
	return h;
}

static int h_dlclose(void *h)
{
	int r = real_dlclose(h);
	if (atomic_load(&ma_tracking)) {
		GUARDED;
		ma_got_forget_unloaded();
		ma_modules_mark_dirty();
	}
	return r;
}

static int h_setname(pthread_t t, const char *name)
{
	int r = real_setname(t, name);
	ma_threads_names_dirty();
	return r;
}

#define D(name, hook, real) { name, (void *)(hook), (void **)&(real) }
const struct ma_hook_def ma_hook_defs[] = {
	D("malloc", h_malloc, ma_real_malloc),
	D("calloc", h_calloc, real_calloc),
	D("realloc", h_realloc, real_realloc),
	D("reallocarray", h_reallocarray, real_reallocarray),
	D("free", h_free, ma_real_free),
	D("posix_memalign", h_posix_memalign, real_posix_memalign),
	D("aligned_alloc", h_aligned_alloc, real_aligned_alloc),
	D("memalign", h_memalign, real_memalign),
	D("valloc", h_valloc, real_valloc),
	D("pvalloc", h_pvalloc, real_pvalloc),
	D("mmap", h_mmap, real_mmap),
	D("mmap64", h_mmap64, real_mmap64),
	D("munmap", h_munmap, real_munmap),
	D("mremap", h_mremap, real_mremap),
	D("_Znwm", h_new, real_new),
	D("_Znam", h_new_array, real_new_array),
	D("_ZnwmRKSt9nothrow_t", h_new_nt, real_new_nt),
	D("_ZnamRKSt9nothrow_t", h_new_array_nt, real_new_array_nt),
	D("_ZnwmSt11align_val_t", h_new_al, real_new_al),
	D("_ZnamSt11align_val_t", h_new_array_al, real_new_array_al),
	D("_ZnwmSt11align_val_tRKSt9nothrow_t", h_new_al_nt, real_new_al_nt),
	D("_ZnamSt11align_val_tRKSt9nothrow_t", h_new_array_al_nt, real_new_array_al_nt),
	D("_ZdlPv", h_delete, real_delete),
	D("_ZdaPv", h_delete_array, real_delete_array),
	D("_ZdlPvm", h_delete_sized, real_delete_sized),
	D("_ZdaPvm", h_delete_array_sized, real_delete_array_sized),
	D("_ZdlPvSt11align_val_t", h_delete_al, real_delete_al),
	D("_ZdaPvSt11align_val_t", h_delete_array_al, real_delete_array_al),
	D("_ZdlPvmSt11align_val_t", h_delete_sized_al, real_delete_sized_al),
	D("_ZdaPvmSt11align_val_t", h_delete_array_sized_al, real_delete_array_sized_al),
	D("_ZdlPvRKSt9nothrow_t", h_delete_nt, real_delete_nt),
	D("_ZdaPvRKSt9nothrow_t", h_delete_array_nt, real_delete_array_nt),
	D("dlopen", h_dlopen, real_dlopen),
	D("dlclose", h_dlclose, real_dlclose),
	D("pthread_setname_np", h_setname, real_setname),
	/* the Python thread names (python/py_thread_start.c) around the lineage hook */
	D("pthread_create", ma_py_h_pthread_create, ma_real_pthread_create),
	/* an exec given an environment of its own (exec_hooks.c) */
	D("execve", ma_h_execve, ma_real_execve),
	D("execvpe", ma_h_execvpe, ma_real_execvpe),
	D("execveat", ma_h_execveat, ma_real_execveat),
	D("fexecve", ma_h_fexecve, ma_real_fexecve),
	D("execle", ma_h_execle, ma_real_execle),
	/* an exec with environ, which lacks our entries in an attached process (exec_environ_hooks.c) */
	D("execv", ma_h_execv, ma_real_execv),
	D("execvp", ma_h_execvp, ma_real_execvp),
	D("execl", ma_h_execl, ma_real_execl),
	D("execlp", ma_h_execlp, ma_real_execlp),
	D("posix_spawn", ma_h_posix_spawn, ma_real_posix_spawn),
	D("posix_spawnp", ma_h_posix_spawnp, ma_real_posix_spawnp),
	/* a shell started with environ inside libc (shell_env_hooks.c) */
	D("system", ma_h_system, ma_real_system),
	D("popen", ma_h_popen, ma_real_popen),
	/* an end that runs no destructor (exit_hooks.c) */
	D("_exit", ma_h__exit, ma_real__exit),
	D("_Exit", ma_h__Exit, ma_real__Exit),
};
const size_t ma_hook_count = sizeof(ma_hook_defs) / sizeof(ma_hook_defs[0]);

/* Resolves what is not resolved yet (C++ operators appear when
 * libstdc++ is loaded).  The global scope finds the allocator the program
 * really uses, an interposed one (jemalloc, tcmalloc) included. */
/* Whether f is where a defined function starts (a canonical PLT stub is
 * not: its symbol is undefined in the executable, or dladdr finds none). */
static int is_definition(void *f)
{
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	if (!dladdr1(f, &di, (void **)&sym, RTLD_DL_SYMENT) || !di.dli_sname)
		return 0;
	return di.dli_saddr == f && (!sym || sym->st_shndx != SHN_UNDEF);
}

/* A non-PIE executable that takes a function's address gets a canonical
 * PLT entry, and the global scope then resolves the name to that stub —
 * which jumps through the very GOT slot we patch.  Look for the
 * definition further: after the agent, then in the usual providers. */
static void *definition(const char *name)
{
	static const char *const providers[] = {"libc.so.6", "libstdc++.so.6"};
	void *f = dlsym(RTLD_DEFAULT, name);
	if (!f || is_definition(f))
		return f;
	void *n = dlsym(RTLD_NEXT, name);
	if (n && n != f && is_definition(n))
		return n;
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		void *h = dlopen(providers[i], RTLD_LAZY | RTLD_NOLOAD);
		if (!h)
			continue;
		n = dlsym(h, name);
		dlclose(h);
		if (n && n != f)
			return n;
	}
	return f;
}

int ma_hooks_resolve(void)
{
	int missing = 0;
	for (size_t i = 0; i < ma_hook_count; i++) {
		if (*ma_hook_defs[i].real)
			continue;
		void *f = definition(ma_hook_defs[i].name);
		if (f == ma_hook_defs[i].hook)
			f = NULL;
		*ma_hook_defs[i].real = f;
		missing += !f;
	}
	/* A failed dlsym leaves a message that the loader frees at the
	 * program's next dl* call: a free of a block the agent never saw.
	 * Read it twice now, under the guard, so it is gone. */
	if (missing) {
		dlerror();
		dlerror();
	}
	return (ma_real_malloc && ma_real_free && real_calloc && real_realloc) ? missing : -1;
}

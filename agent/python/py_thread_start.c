/* py_thread_start.c — a Python thread's name caught as it is started.
 *
 * threading.Thread.start() puts the Thread in threading._limbo, then calls
 * _thread's start function, which calls pthread_create with the GIL held.
 * Our pthread_create hook (one call per thread, none on the allocation
 * path; it wraps thread_lineage.c's) sees that the calling thread holds the GIL, takes the name of the
 * Thread in _limbo that has no ident yet (the one being started), and
 * files it under the new thread's kernel tid, known as soon as
 * pthread_create returns.  A thread that allocates and ends between two of
 * the writer's cycles keeps its name: the periodic read of
 * threading._active (py_threads.c) only sees the threads alive then.
 * The name is read with the C API on the caller's own thread, which
 * already holds the GIL: no tracing, no Python code of ours, no waiting. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "py_agent.h"

/* Direct-mapped by tid: tids are handed out in order, so a slot is
 * reused only thousands of threads later, long after its thread was
 * announced. */
#define SLOTS 2048
struct started {
	uint32_t tid;
	char name[MA_THREAD_NAME];
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct started slots[SLOTS];
static atomic_uint filed;          /* nonzero once anything was filed */

typedef struct pyobj pyobj;
static struct {
	int (*is_initialized)(void), (*is_finalizing)(void);
	void *(*this_tstate)(void), *(*current_tstate)(void);
	pyobj *(*str_from)(const char *);
	pyobj *(*get_module)(pyobj *);
	pyobj *(*getattr)(pyobj *, const char *);
	pyobj *(*dict_values)(pyobj *);
	long (*list_size)(pyobj *);
	pyobj *(*list_item)(pyobj *, long);
	pyobj *(*as_utf8)(pyobj *);
	char *(*bytes_data)(pyobj *);
	void (*fetch)(pyobj **, pyobj **, pyobj **), (*restore)(pyobj *, pyobj *, pyobj *);
	void (*decref)(pyobj *);
	pyobj *none;
	atomic_int state;              /* 0 unresolved, 1 usable, -1 not */
} api;

#define SYM(field, name) (*(void **)&api.field = dlsym(RTLD_DEFAULT, name))

static int resolve(void)
{
	int st = atomic_load_explicit(&api.state, memory_order_acquire);
	if (st)
		return st;
	api.is_initialized = ma_py.is_initialized;
	api.is_finalizing = ma_py.is_finalizing;
	/* 3.13 renamed the unchecked getter; the old name is gone there. */
	if (!SYM(current_tstate, "PyThreadState_GetUnchecked"))
		SYM(current_tstate, "_PyThreadState_UncheckedGet");
	int ok = api.is_initialized && api.is_finalizing && api.current_tstate &&
		SYM(this_tstate, "PyGILState_GetThisThreadState") &&
		SYM(str_from, "PyUnicode_FromString") && SYM(get_module, "PyImport_GetModule") &&
		SYM(getattr, "PyObject_GetAttrString") && SYM(dict_values, "PyDict_Values") &&
		SYM(list_size, "PyList_Size") && SYM(list_item, "PyList_GetItem") &&
		SYM(as_utf8, "PyUnicode_AsUTF8String") && SYM(bytes_data, "PyBytes_AsString") &&
		SYM(fetch, "PyErr_Fetch") && SYM(restore, "PyErr_Restore") &&
		SYM(decref, "Py_DecRef") && SYM(none, "_Py_NoneStruct");
	st = ok ? 1 : -1;
	atomic_store_explicit(&api.state, st, memory_order_release);
	return st;
}

/* The calling thread holds the GIL: its thread state is the one running.
 * (PyGILState_Check answers 1 whenever its check is off: not enough.) */
static int holds_gil(void)
{
	if (!api.is_initialized() || api.is_finalizing())
		return 0;
	void *mine = api.this_tstate();
	return mine && mine == api.current_tstate();
}

/* Thread th's name as UTF-8 into out, if it has not started (no ident). */
static int unstarted_name(pyobj *th, char *out, size_t cap)
{
	pyobj *ident = api.getattr(th, "_ident");
	int unstarted = ident == api.none;
	api.decref(ident);
	if (!unstarted)
		return 0;
	/* UTF-8 bytes of our own: PyUnicode_AsUTF8 would cache a copy
	 * inside the program's str. */
	pyobj *name = api.getattr(th, "_name");
	pyobj *utf8 = name ? api.as_utf8(name) : NULL;
	const char *s = utf8 ? api.bytes_data(utf8) : NULL;
	int ok = s && *s;
	if (ok)
		ma_py_copy_name(out, s, cap);
	api.decref(utf8);
	api.decref(name);
	return ok;
}

/* With the GIL: the name of the one Thread of _limbo not started yet;
 * 0 when there is none, or several with different names (two start()s
 * interleaved: then the periodic read names them, if it can). */
static int limbo_name(char *out, size_t cap)
{
	int found = 0;
	pyobj *mod_name = api.str_from("threading");
	pyobj *mod = mod_name ? api.get_module(mod_name) : NULL;
	pyobj *limbo = mod ? api.getattr(mod, "_limbo") : NULL;
	pyobj *threads = limbo ? api.dict_values(limbo) : NULL;
	long k = threads ? api.list_size(threads) : 0;
	char other[MA_THREAD_NAME];
	for (long i = 0; i < k && found >= 0; i++) {
		pyobj *th = api.list_item(threads, i);
		if (!th || !unstarted_name(th, found ? other : out, found ? sizeof(other) : cap))
			continue;
		if (!found)
			found = 1;
		else if (strcmp(other, out))
			found = -1;
	}
	api.decref(threads);
	api.decref(limbo);
	api.decref(mod);
	api.decref(mod_name);
	return found > 0;
}

/* The name of the Python thread the caller is starting, or 0. */
static int starting_name(char *out, size_t cap)
{
	if (!ma_py_active || !atomic_load_explicit(&ma_tracking, memory_order_relaxed) ||
	    ma_tls.guard || resolve() < 0 || !holds_gil())
		return 0;
	ma_tls.guard++;   /* what the C API allocates here is ours */
	pyobj *t, *v, *tb;
	api.fetch(&t, &v, &tb);
	int ok = limbo_name(out, cap);
	api.restore(t, v, tb);
	ma_tls.guard--;
	return ok;
}

/* The kernel encodes a thread's CPU clock id as ~tid << 3 | 6. */
static uint32_t tid_of(pthread_t th)
{
	clockid_t clk;
	if (pthread_getcpuclockid(th, &clk) || (clk & 7) != 6)
		return 0;
	return (uint32_t)~(clk >> 3);
}

static void file_name(uint32_t tid, const char *name)
{
	pthread_mutex_lock(&lock);
	struct started *s = &slots[tid % SLOTS];
	s->tid = tid;
	memcpy(s->name, name, sizeof(s->name));
	pthread_mutex_unlock(&lock);
	atomic_store(&filed, 1);
	ma_threads_names_dirty();   /* the writer looks again, announced or not */
}

int ma_py_h_pthread_create(pthread_t *th, const pthread_attr_t *at,
			   void *(*fn)(void *), void *arg)
{
	char name[MA_THREAD_NAME];
	int named = starting_name(name, sizeof(name));
	int r = ma_h_pthread_create(th, at, fn, arg);   /* thread_lineage.c's hook */
	uint32_t tid = r == 0 && named ? tid_of(*th) : 0;
	if (tid)
		file_name(tid, name);
	return r;
}

int ma_py_thread_start_name(uint32_t tid, char *buf, size_t cap)
{
	if (!atomic_load_explicit(&filed, memory_order_relaxed) || !tid)
		return 0;
	pthread_mutex_lock(&lock);
	const struct started *s = &slots[tid % SLOTS];
	int found = s->tid == tid;
	if (found)
		ma_py_copy_name(buf, s->name, cap);
	pthread_mutex_unlock(&lock);
	return found;
}

/* A forked child's tids are new: names filed by the parent mean nothing. */
void ma_py_thread_start_forget(void)
{
	pthread_mutex_init(&lock, NULL);
	if (atomic_exchange(&filed, 0))
		memset(slots, 0, sizeof(slots));
}

/* py_threads.c — thread names from Python's threading module.
 *
 * A thread's comm says "python3" for every Python thread; the name the
 * program gave it (Thread(name=...), "ThreadPoolExecutor-0_0") lives in
 * threading._active, which only the C API can read safely, with the GIL.
 * A short-lived thread of ours takes the GIL, reads ident -> Thread for
 * each Thread's _name and _native_id (the kernel tid), drops every
 * reference and lets go.  Never the writer: a target that keeps the GIL
 * (a C extension busy in a call) must not stall the stream; the helper
 * then just finishes late and no other one starts meanwhile.  Nothing runs
 * Python code of the threading module (no enumerate(), no import). */
#include <pthread.h>
#include <string.h>
#include "py_capi.h"

#define MAX_NAMES 256
#define MIN_GAP_NS 100000000ull  /* refreshes start at most every 100 ms */

struct entry {
	uint32_t tid;
	char name[MA_THREAD_NAME];
};

/* The last refresh's result, read by the writer. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct entry table[MAX_NAMES];
static atomic_uint count;
static atomic_int in_flight;
static atomic_int unusable;       /* the C API we need is missing */
static int pending;               /* writer only: a refresh is wanted */
static uint64_t last_start;       /* writer only */
static atomic_uint gate_tid;      /* a followed child's forking thread: no helper yet */
static int gate_open(void);
#define MAX_ALIASES 8
static uint32_t alias_from[MAX_ALIASES], alias_to;   /* see ma_py_threads_off_in_child */
static unsigned naliases;
static uint32_t unalias(uint32_t tid);

/* threading's stand-in for a thread it did not start (one that called
 * current_thread()): its "Dummy-N" would hide a better comm. */
static int is_dummy(pyobj *th)
{
	pyobj *cls = ma_capi.getattr(th, "__class__");
	pyobj *name = cls ? ma_capi.getattr(cls, "__name__") : NULL;
	int dummy = name && ma_capi.str_is(name, "_DummyThread") == 0;
	ma_capi.decref(name);
	ma_capi.decref(cls);
	return dummy;
}

/* One Thread object: its kernel tid and name, or 0. */
static int read_thread(pyobj *th, struct entry *e)
{
	if (is_dummy(th)) {
		ma_capi.err_clear();
		return 0;
	}
	pyobj *nid = ma_capi.getattr(th, "_native_id");
	unsigned long tid = nid ? ma_capi.as_ulong(nid) : 0;
	ma_capi.decref(nid);
	int ok = tid && tid != (unsigned long)-1 && tid <= UINT32_MAX &&
		ma_capi_thread_name(th, e->name, sizeof(e->name));
	if (ok)
		e->tid = unalias((uint32_t)tid);
	ma_capi.err_clear();
	return ok;
}

/* The Threads of threading._active into out[0..cap). */
struct active {
	struct entry *out;
	unsigned n, cap;
};

static int active_one(pyobj *th, void *ctx)
{
	struct active *a = ctx;
	if (read_thread(th, &a->out[a->n]))
		a->n++;
	return a->n >= a->cap;
}

/* With the GIL: threading._active, if the program imported threading. */
static unsigned read_active(struct entry *out, unsigned cap)
{
	struct active a = { .out = out, .cap = cap };
	ma_capi_each_thread("_active", active_one, &a);
	ma_capi.err_clear();
	return a.n;
}

static int same(const struct entry *a, unsigned na, const struct entry *b, unsigned nb)
{
	if (na != nb)
		return 0;
	for (unsigned i = 0; i < na; i++)
		if (a[i].tid != b[i].tid || strcmp(a[i].name, b[i].name))
			return 0;
	return 1;
}

static void *names_thread(void *arg)
{
	(void)arg;
	ma_tls.guard = 1;    /* nothing this thread allocates is recorded */
	static struct entry fresh[MAX_NAMES];   /* one helper at a time */
	if (ma_capi_resolve() < 0)
		atomic_store(&unusable, 1);
	else if (ma_capi.is_initialized() && !ma_capi.is_finalizing()) {
		int st = ma_capi.ensure();
		unsigned n = ma_capi.is_finalizing() ? 0 : read_active(fresh, MAX_NAMES);
		ma_capi.release(st);
		pthread_mutex_lock(&lock);
		int changed = !same(table, atomic_load(&count), fresh, n);
		if (changed) {
			memcpy(table, fresh, n * sizeof(*fresh));
			atomic_store(&count, n);
		}
		pthread_mutex_unlock(&lock);
		if (changed)
			ma_threads_names_dirty();
	}
	atomic_store(&in_flight, 0);
	return NULL;
}

void ma_py_threads_refresh(int want)
{
	if (!ma_py_active || atomic_load_explicit(&unusable, memory_order_relaxed))
		return;
	pending |= want;
	if (!pending || atomic_load(&in_flight) || !gate_open())
		return;
	uint64_t now = ma_now_ns();
	if (now - last_start < MIN_GAP_NS)
		return;
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	atomic_store(&in_flight, 1);
	if (pthread_create(&th, &at, names_thread, NULL) == 0) {
		pending = 0;
		last_start = now;
	} else {
		atomic_store(&in_flight, 0);
	}
	pthread_attr_destroy(&at);
}

int ma_py_thread_name(uint32_t tid, char *buf, size_t cap)
{
	/* A rename since the start wins; a thread gone from _active keeps
	 * the name it was started with (py_thread_start.c). */
	if (!atomic_load_explicit(&count, memory_order_relaxed))
		return ma_py_thread_start_name(tid, buf, cap);
	int found = 0;
	pthread_mutex_lock(&lock);
	unsigned n = atomic_load(&count);
	for (unsigned i = 0; i < n && !found; i++)
		if (table[i].tid == tid) {
			ma_py_copy_name(buf, table[i].name, cap);
			found = 1;
		}
	pthread_mutex_unlock(&lock);
	return found || ma_py_thread_start_name(tid, buf, cap);
}

/* In a forked child no helper runs, whatever the parent's did. */
void ma_py_threads_forget_in_child(void)
{
	pthread_mutex_init(&lock, NULL);
	ma_py_thread_start_forget();
	atomic_store(&in_flight, 0);
	pending = 0;
	/* The interpreter remakes its GIL after fork() returns
	 * (PyOS_AfterFork_Child): no helper right after a fork. */
	last_start = ma_now_ns();
}

/* A followed fork's child: its session starts before the interpreter's
 * fork handling (PyOS_AfterFork_Child remakes the GIL and deletes every
 * other thread state), and a helper taking the GIL then crashed the child
 * (SIGSEGV in 11 of 14 runs).  So: the one thread there is, the one that
 * forked, keeps the name it had in the parent (threading keeps its Thread
 * object); helpers wait until another thread of the child is seen — one
 * the program started after fork() returned, when that handling is
 * done — and then name its threads as in any process. */

void ma_py_threads_off_in_child(uint32_t parent_tid)
{
	uint32_t me = (uint32_t)ma_gettid();
	unsigned n = atomic_load(&count), k = 0;
	for (unsigned i = 0; i < n; i++)
		if (table[i].tid == parent_tid) {
			table[0] = table[i];
			table[0].tid = me;
			k = 1;
			break;
		}
	atomic_store(&count, k);
	atomic_store(&gate_tid, me);
	/* threading keeps the forking thread's _native_id of the parent
	 * (3.8-3.11 at least): that tid (and those it stood for) is this
	 * thread's here */
	unsigned a = 0;
	for (unsigned i = 0; i < naliases; i++)
		if (alias_to == parent_tid && a < MAX_ALIASES)
			alias_from[a++] = alias_from[i];
	if (a < MAX_ALIASES)
		alias_from[a++] = parent_tid;
	naliases = a;
	alias_to = me;
}

/* A tid as threading may still give it: the forking thread's in a parent. */
static uint32_t unalias(uint32_t tid)
{
	for (unsigned i = 0; i < naliases; i++)
		if (alias_from[i] == tid)
			return alias_to;
	return tid;
}

/* Writer: is a thread other than the forking one recorded? */
static int gate_open(void)
{
	uint32_t g = atomic_load(&gate_tid);
	int open = !g;
	if (open)
		return 1;
	ma_threads_lock();
	for (struct ma_thread *t = ma_threads_first(); t && !open; t = t->next)
		open = t->tid != g;
	ma_threads_unlock();
	if (open)
		atomic_store(&gate_tid, 0);
	return open;
}

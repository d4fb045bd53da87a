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
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "py_capi.h"

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

/* The calling thread holds the GIL: its thread state is the one running.
 * (PyGILState_Check answers 1 whenever its check is off: not enough.) */
static int holds_gil(void)
{
	if (!ma_capi.is_initialized() || ma_capi.is_finalizing())
		return 0;
	void *mine = ma_capi.this_tstate();
	return mine && mine == ma_capi.current_tstate();
}

/* Thread th's name as UTF-8 into out, if it has not started (no ident). */
static int unstarted_name(pyobj *th, char *out, size_t cap)
{
	pyobj *ident = ma_capi.getattr(th, "_ident");
	int unstarted = ident == ma_capi.none;
	ma_capi.decref(ident);
	return unstarted && ma_capi_thread_name(th, out, cap);
}

/* The one name of _limbo's unstarted Threads: found 1 with it in out, -1
 * when two differ. */
struct limbo {
	char *out;
	size_t cap;
	int found;
	char other[MA_THREAD_NAME];
};

static int limbo_one(pyobj *th, void *ctx)
{
	struct limbo *l = ctx;
	int again = l->found != 0;
	if (!unstarted_name(th, again ? l->other : l->out, again ? sizeof(l->other) : l->cap))
		return 0;
	if (!again)
		l->found = 1;
	else if (strcmp(l->other, l->out))
		l->found = -1;
	return l->found < 0;
}

/* With the GIL: the name of the one Thread of _limbo not started yet;
 * 0 when there is none, or several with different names (two start()s
 * interleaved: then the periodic read names them, if it can). */
static int limbo_name(char *out, size_t cap)
{
	struct limbo l = { .out = out, .cap = cap };
	ma_capi_each_thread("_limbo", limbo_one, &l);
	return l.found > 0;
}

/* The name of the Python thread the caller is starting, or 0. */
static int starting_name(char *out, size_t cap)
{
	if (!ma_py_active || !atomic_load_explicit(&ma_tracking, memory_order_relaxed) ||
	    ma_tls.guard || ma_capi_resolve() < 0 || !holds_gil())
		return 0;
	ma_tls.guard++;   /* what the C API allocates here is ours */
	pyobj *t, *v, *tb;
	ma_capi.fetch(&t, &v, &tb);
	int ok = limbo_name(out, cap);
	ma_capi.restore(t, v, tb);
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

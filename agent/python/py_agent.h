/* py_agent.h — Python frames in native stacks (CPython 3.8-3.13, x86_64).
 *
 * The agent reads the allocating thread's Python frames straight from the
 * interpreter's memory: thread state → frame chain → code object → name,
 * file and line.  It never calls Python, never takes the GIL and never
 * creates objects; the only call into libpython is
 * PyGILState_GetThisThreadState, which is a pthread_getspecific in every
 * supported version and needs no lock.  (py_alloc.c and py_threads.c,
 * apart from the frames, take the GIL on short-lived threads of their own.) */
#ifndef MEMATTACH_PY_AGENT_H
#define MEMATTACH_PY_AGENT_H

#include <pthread.h>
#include <stdint.h>
#include MA_AGENT_ARCH_H
#include "../agent_internal.h"

#define MA_PY_MAX_FRAMES 128     /* Python frames kept per stack */

/* Looks for CPython in the process (once); 1 when frames can be read. */
int ma_py_init(void) MA_HIDDEN;

/* Merges the calling thread's Python frames into the native stack
 * nat[0..n) (innermost first): each group of Python frames run by one call
 * of the eval loop goes just before (inside of) that call's native frame.
 * First the frames are read (prepare: 0 when the thread runs no Python);
 * pm->tag is then nonzero when the frames as merged can be told apart by
 * it: the same tag as an earlier call on this thread, the same frames.
 * ma_py_merge writes at most cap frames to out and returns their count,
 * 0 when none is Python's (the native stack is then used as it is);
 * *summed when *sum is ma_hash_stack_sum() of out. */
struct ma_py_merging {
	uintptr_t f;         /* the innermost frame */
	void *tf, *mc;       /* the thread's caches (py_walk.c) */
	int fast;
	uint64_t tag;
};
int ma_py_merge_prepare(struct ma_py_merging *pm) MA_HIDDEN;
uint32_t ma_py_merge(const struct ma_py_merging *pm, const uint64_t *nat, uint32_t n,
		     uint64_t *out, uint32_t cap, uint64_t *sum, int *summed) MA_HIDDEN;
/* The calling thread's Python frames alone, innermost first, into out;
 * 0 when it runs none.  MA_PY_KNOWN instead when the thread met these
 * frames before: known->stack is then their stack's id.  Otherwise, once
 * the stack is interned, ma_py_known_set tells it for next time.  gil: the
 * caller holds the GIL (PyMem MEM and OBJ domains). */
#define MA_PY_KNOWN UINT32_MAX
struct ma_py_known {
	uint32_t stack;
	void *slot;
	uint32_t *last;
};
uint32_t ma_py_frames(uint64_t *out, uint32_t cap, int gil, struct ma_py_known *known) MA_HIDDEN;
void ma_py_known_set(struct ma_py_known *known, uint32_t stack) MA_HIDDEN;
/* Code-object lifetimes (py_walk.c, kept by py_alloc.c): bumped whenever
 * a code object may have died; trusted only while every death is seen. */
extern MA_HIDDEN _Atomic uint64_t ma_py_code_epoch;
extern MA_HIDDEN atomic_int ma_py_epoch_trusted;
void ma_py_eval_range(uintptr_t *lo, uintptr_t *hi) MA_HIDDEN;

/* Writer: PythonFrame records created since the last call (all of them
 * when all is set, at the start of a session), through emit(). */
void ma_py_emit(int all, void (*emit)(const void *rec, void *ctx)) MA_HIDDEN;

/* --trace-python-allocators (py_alloc.c): wraps the PyMem domains;
 * called by the writer at the start and end of a session. */
int ma_pyalloc_start(void) MA_HIDDEN;
void ma_pyalloc_stop(void) MA_HIDDEN;
/* 1 when the process has a CPython of a version we can wrap. */
int ma_py_present(void) MA_HIDDEN;

/* Thread names from threading._active (py_threads.c).  The writer asks
 * for a refresh (want) every cycle; one starts, on a thread of its own,
 * when none is running and the last began 100 ms ago or more.  Nothing
 * happens in a process without Python. */
void ma_py_threads_refresh(int want) MA_HIDDEN;
/* Thread tid's Python name into buf (NUL-terminated); 0 when none. */
int ma_py_thread_name(uint32_t tid, char *buf, size_t cap) MA_HIDDEN;
void ma_py_threads_forget_in_child(void) MA_HIDDEN;
/* Names caught as threading starts a thread (py_thread_start.c): the
 * pthread_create hook, and tid's name as it was started, if caught. */
int ma_py_h_pthread_create(pthread_t *th, const pthread_attr_t *at,
			   void *(*fn)(void *), void *arg) MA_HIDDEN;
int ma_py_thread_start_name(uint32_t tid, char *buf, size_t cap) MA_HIDDEN;
void ma_py_thread_start_forget(void) MA_HIDDEN;
void ma_py_copy_name(char *dst, const char *src, size_t cap) MA_HIDDEN;
void ma_py_threads_off_in_child(uint32_t parent_tid) MA_HIDDEN;

/* ---- private to agent/python ---- */
struct ma_py_layout {
	int major, minor;
	long ts_frame, cframe_frame;        /* cframe_frame < 0: no _PyCFrame hop */
	long ts_thread_id;                  /* pthread_self() of its thread */
	long fr_previous, fr_code, fr_instr, fr_owner, fr_is_entry;
	long co_qualname, co_code, co_linetable;
	long co_filename, co_name, co_firstlineno;
	long bytes_size, bytes_data;
	long str_length, str_hash, str_state, str_ascii_size, str_compact_size;
};

struct ma_py_state {
	struct ma_py_layout l;
	void *(*get_tstate)(void);          /* PyGILState_GetThisThreadState */
	void *(*get_current)(void);         /* the GIL holder's, or NULL */
	int (*is_initialized)(void), (*is_finalizing)(void);
	uintptr_t code_type, str_type, bytes_type;
	uintptr_t eval_lo, eval_hi;         /* _PyEval_EvalFrameDefault */
	int frames_v311;                    /* _PyInterpreterFrame chain */
	int lasti_units;                    /* 3.10: f_lasti counts code units */
};
extern MA_HIDDEN struct ma_py_state ma_py;
extern MA_HIDDEN int ma_py_active;

/* Interns one frame; returns its PythonFrame id or 0 (py_frames.c). */
uint32_t ma_py_frame_id(uintptr_t code, uint32_t offset) MA_HIDDEN;

/* Reading interpreter objects (py_code.c). */
static inline uintptr_t ma_py_rd(uintptr_t a) { return *(const uintptr_t *)a; }
/* Cheap plausibility of a pointer we are about to follow. */
static inline int ma_py_ptr_ok(uintptr_t p) { return p >= 4096 && !(p & 7) && p < MA_USER_ADDR_END; }
static inline int ma_py_is(uintptr_t obj, uintptr_t type)
{
	return ma_py_ptr_ok(obj) && ma_py_rd(obj + 8) == type;
}
/* Line of the instruction at byte offset off, 0 when it has none. */
uint32_t ma_py_code_line(uintptr_t code, uint32_t off) MA_HIDDEN;
/* UTF-8 of a str object into buf (NUL-terminated, truncated to cap). */
void ma_py_str_read(uintptr_t str, char *buf, size_t cap) MA_HIDDEN;
/* The str's hash: its cached one, or one of its content. */
uint64_t ma_py_str_hash(uintptr_t str) MA_HIDDEN;

#endif

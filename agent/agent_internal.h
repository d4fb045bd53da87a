/* agent_internal.h — shared state of the agent's parts.
 *
 * Threads: application threads run the hooks (hooks.c → event_buffer.c);
 * one writer thread (writer.c) owns the socket.  Everything the agent keeps
 * lives in memory from ma_arena_alloc (anonymous mmap), never from the
 * hooked allocators. */
#ifndef MEMATTACH_AGENT_INTERNAL_H
#define MEMATTACH_AGENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define MA_HIDDEN __attribute__((visibility("hidden")))
#define MA_BATCH_EVENTS 1024
#define MA_MAX_DEPTH 256
#define MA_THREAD_NAME 64        /* ThreadInfo names, NUL included */

/* ---- configuration and global state (agent.c) ---- */
struct ma_config {
	char socket_path[108];
	unsigned depth;
	int attached;
	int inproc;               /* started by the program itself (agent.h) */
	int pyalloc;              /* wrap the PyMem domains */
	int pynative;             /* Python processes: keep every native frame */
	uint64_t stall_ns;        /* longest wait for a CLI that does not read */
	int stall_end;            /* past it: end the session (else drop events) */
	int follow;               /* forked children start sessions of their own */
	uint64_t sample;          /* --sample: mean bytes between samples (0: off) */
	uint64_t sample_seed;     /* the samplers' seed (sampler.c) */
};
#define MA_STALL_DEFAULT_NS 100000000ull

extern MA_HIDDEN struct ma_config ma_cfg;
/* Nonzero while hooks record.  Read on every hook call. */
extern MA_HIDDEN atomic_int ma_tracking;
/* Set when the CLI stopped reading for ma_cfg.stall_ns and the session is
 * to end (stall_end): the writer drops the session. */
extern MA_HIDDEN atomic_int ma_stalled;
/* The last flush at the end of a session waits this long without progress
 * (the CLI reading bytes) when the process exits (its exit waits for it),
 * and at most MA_FINAL_FLUSH_MAX_MS in all for a CLI that reads slowly. */
#define MA_FINAL_FLUSH_MS 2000
#define MA_FINAL_FLUSH_MAX_MS 30000
/* ... and when memattach asked for the end: only the writer thread waits
 * (tracking is off), for a CLI that reads dozens of streams at once on a
 * loaded machine; a CLI that gives up closes the socket, which ends it. */
#define MA_STOP_FLUSH_MS 30000
/* cli_watch.c: a descriptor on the CLI's /proc stat (-1: not visible
 * here), and whether the CLI is at work (runnable, or in its disk I/O):
 * progress for the final flush of an exiting process. */
int ma_cli_watch_open(int sock) MA_HIDDEN;
int ma_cli_at_work(int fd) MA_HIDDEN;
/* Counters written often get a cache line each, away from what every
 * hook reads (ma_tracking, ma_cfg): the writer thread writing the clock,
 * or any thread taking a seq, must not make the others miss. */
struct ma_line {
	_Atomic uint64_t v;
	char pad[56];
} __attribute__((aligned(64)));
/* The global event sequence counter. */
extern MA_HIDDEN struct ma_line ma_seq_line;
#define ma_seq (ma_seq_line.v)
extern MA_HIDDEN uint64_t ma_start_ns;   /* CLOCK_MONOTONIC at session start */

/* Per-thread recursion guard: nonzero while the agent itself runs on this
 * thread, so hooks reached from inside the agent, libunwind or a signal
 * handler interrupting a hook pass straight through. */
struct ma_tls {
	unsigned guard;
	struct ma_thread *thr;
};
extern MA_HIDDEN __thread struct ma_tls ma_tls __attribute__((tls_model("initial-exec")));

/* Moved by every free, realloc, munmap and mremap while ma_mem_gen_on
 * (fast-mode Python walks, py_walk.c): memory the thread's frames were in
 * at some generation is still there while the generation is the same. */
extern MA_HIDDEN struct ma_line ma_mem_gen_line;
#define ma_mem_gen (ma_mem_gen_line.v)
extern MA_HIDDEN atomic_int ma_mem_gen_on;
static inline void ma_mem_gen_note(void)
{
	if (atomic_load_explicit(&ma_mem_gen_on, memory_order_relaxed))
		atomic_fetch_add_explicit(&ma_mem_gen, 1, memory_order_relaxed);
}
uint64_t ma_now_ns(void) MA_HIDDEN;
/* An event's time: the session's clock, a CLOCK_MONOTONIC reading the
 * writer thread keeps fresh (every millisecond while events flow, and
 * after each batch it packs and each send; writer.c).  One load instead
 * of a clock call on every event; event order comes from seq, never from
 * time. */
extern MA_HIDDEN struct ma_line ma_clock_line;
#define ma_clock_ns (ma_clock_line.v)
static inline uint64_t ma_event_ns(void)
{
	/* --sample: a sampled event sets the clock first (sampler.c), so the
	 * writer need not wake every millisecond to keep it fresh. */
	return atomic_load_explicit(&ma_clock_ns, memory_order_relaxed);
}
static inline void ma_clock_tick(void)
{
	atomic_store_explicit(&ma_clock_ns, ma_now_ns(), memory_order_relaxed);
}
pid_t ma_gettid(void) MA_HIDDEN;
/* A small /proc file into buf (NUL-terminated, trailing newlines cut; "" when
 * it cannot be read); nul_to_space for cmdline. */
void ma_read_file(const char *path, char *buf, size_t len, int nul_to_space) MA_HIDDEN;
/* process_identity.c: the connection's first record, who this process is
 * (forked: started in a followed fork's child).  0, or -1. */
int ma_identity_send(int fd, int forked) MA_HIDDEN;

/* Hash of n words: independent multiplies summed, one final mix — it runs
 * on every event (stack frames, Python frame keys), and a dependent chain
 * would cost a multiply's latency per word.  Position-dependent: the
 * multiplier (always odd) changes with the position. */
static inline uint64_t ma_hash_term(uint64_t w, uint32_t pos)
{
	static const uint64_t m[8] = {
		0x9e3779b97f4a7c15ull, 0xc2b2ae3d27d4eb4full, 0x165667b19e3779f9ull,
		0xd6e8feb86659fd93ull, 0xff51afd7ed558ccdull, 0xc4ceb9fe1a85ec53ull,
		0x85ebca77c2b2ae63ull, 0x27d4eb2f165667c5ull };
	return (w ^ (w >> 29)) * (m[pos & 7] + ((uint64_t)(pos >> 3) << 1));
}
static inline uint64_t ma_hash_finish(uint64_t sum, uint32_t n)
{
	uint64_t h = (0x12345678u ^ n) + sum;
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}
static inline uint64_t ma_hash_words(const uint64_t *w, uint32_t n)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += ma_hash_term(w[i], i);
	return ma_hash_finish(sum, n);
}
/* A stack's: positions counted from its outer end, so that a walk that
 * keeps its frames right-aligned keeps the sums of their terms too and
 * hashes only the frames it stepped (unwind_cache.c). */
static inline uint64_t ma_hash_stack_sum(const uint64_t *f, uint32_t n)
{
	uint64_t sum = 0;
	for (uint32_t i = 0; i < n; i++)
		sum += ma_hash_term(f[i], n - 1 - i);
	return sum;
}

/* ---- memory of the agent itself (arena.c) ---- */
void *ma_arena_alloc(size_t size) MA_HIDDEN;        /* zeroed, never freed */
void *ma_pages_alloc(size_t size) MA_HIDDEN;        /* zeroed, munmap-able */
void ma_pages_free(void *p, size_t size) MA_HIDDEN;
/* Session scratch: allocations (zeroed) reused from the start after a
 * reset; the caller makes sure nothing uses them then. */
struct ma_scratch {
	struct ma_scratch_chunk *head, *cur;
	size_t off;
};
void *ma_scratch_alloc(struct ma_scratch *s, size_t size) MA_HIDDEN;
void ma_scratch_reset(struct ma_scratch *s) MA_HIDDEN;
void ma_scratch_release(struct ma_scratch *s) MA_HIDDEN;   /* reset, pages freed */

/* ---- event buffers (event_buffer.c) ---- */
/* A thread's batch, in as few streams of stores as the hot path allows:
 * the kind rides in the seq's low byte, and times (which move once a
 * millisecond) are kept only where they change. */
#define MA_SEQ_KIND(seq, kind) ((seq) << 8 | (kind))
struct ma_buf {
	struct ma_buf *next;
	uint32_t n;
	uint32_t tid;
	uint32_t nmarks;                    /* time marks */
	uint64_t last_time;                 /* of the last mark */
	uint64_t seq_kind[MA_BATCH_EVENTS];
	uint64_t addr[MA_BATCH_EVENTS];
	uint64_t size[MA_BATCH_EVENTS];
	uint32_t stack[MA_BATCH_EVENTS];
	uint32_t mark_at[MA_BATCH_EVENTS];  /* events from mark_at[k] on */
	uint64_t mark_time[MA_BATCH_EVENTS];/* happened at mark_time[k] */
};

/* Events a thread dropped instead of waiting past the stall limit: written
 * by the owner with busy held, taken by the writer's sweep. */
struct ma_lost {
	uint64_t allocs, alloc_bytes, frees, free_bytes;
	uint64_t first_ns, last_ns;       /* session clock */
	uint64_t first_seq, last_seq;
};

/* --sample (sampler.c): a thread's countdown to its next sample and its
 * exact counts, written by the owner, read by the writer. */
struct ma_sample_thread {
	int64_t left;             /* bytes until the next sample */
	uint64_t rng;             /* xorshift64* state; 0: not seeded this session */
	_Atomic uint64_t allocs, bytes, frees, samples, refused;
	uint64_t sent_allocs, sent_frees, sent_refused;   /* writer: last sent */
};

struct ma_thread {
	atomic_int busy;          /* owner appending (event_buffer.c) */
	atomic_int inside;        /* owner in a hook's stack capture (ma_enter) */
	atomic_int sweep;         /* writer taking the buffer */
	uint32_t tid;
	unsigned long self;       /* pthread_self() of the thread */
	struct ma_buf *cur;
	_Atomic uint64_t pending; /* seq taken, not yet recorded, or MAX */
	struct ma_thread *next;
	void *py_cache;           /* python/py_walk.c: recent frame ids */
	void *stack_cache;        /* stack_table.c: recent Python stacks */
	void *unwind;             /* unwind_cache.c: rules and the last walk */
	struct ma_lost lost;      /* owner, under busy */
	void *unw_cache;          /* unwind_fds.c: libunwind's trace cache */
	size_t unw_cache_len;
	/* Writer only, behind the fields the hooks use. */
	struct ma_lost lost_taken;/* swept, not sent yet */
	int announced;            /* ThreadInfo sent this session */
	int py_named;             /* name came from Python's threading */
	char name[MA_THREAD_NAME];
	struct ma_sample_thread smp;   /* sampler.c: the owner's countdown and counts */
	uint32_t parent_tid;      /* thread_lineage.c: its creator (0: unknown) */
	uint64_t born_seq;        /* seq at its pthread_create */
};

/* thread_lineage.c: the pthread_create hook, and what the calling
 * thread's record is to say about its creator (zero: not known). */
typedef int (*ma_pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int ma_h_pthread_create(pthread_t *th, const pthread_attr_t *at, void *(*fn)(void *), void *arg) MA_HIDDEN;
extern MA_HIDDEN ma_pthread_create_fn ma_real_pthread_create;
void ma_lineage_of_self(uint32_t *parent_tid, uint64_t *born_seq) MA_HIDDEN;

/* Records one event of the calling thread (the hook holds the guard). */
void ma_record(uint32_t kind, uint64_t addr, uint64_t size, uint32_t stack) MA_HIDDEN;
/* The calling thread's record, created on first use (NULL: no memory). */
struct ma_thread *ma_thread_attach(void) MA_HIDDEN;
static inline struct ma_thread *ma_thread_self(void)
{
	struct ma_thread *t = ma_tls.thr;
	return __builtin_expect(t != NULL, 1) ? t : ma_thread_attach();
}
/* An allocation hook's stretch that reads the stack table and the caches
 * a detach releases: the caller's record, with inside set, or NULL (the
 * session is over: record nothing).  Inside is a plain store: the detach
 * side makes it visible with membarrier (ma_threads_quiesce) before it
 * reads, so either the thread sees tracking off here or the detach sees
 * it inside and waits. */
static inline struct ma_thread *ma_enter(void)
{
	struct ma_thread *t = ma_thread_self();
	if (!t)
		return NULL;
	atomic_store_explicit(&t->inside, 1, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	if (__builtin_expect(!atomic_load_explicit(&ma_tracking, memory_order_relaxed), 0)) {
		atomic_store_explicit(&t->inside, 0, memory_order_release);
		return NULL;
	}
	return t;
}
static inline void ma_leave(struct ma_thread *t)
{
	atomic_store_explicit(&t->inside, 0, memory_order_release);
}
/* Waits until no thread is inside (threads lock held on success: call
 * ma_threads_unlock after releasing).  0, or -1 when it cannot tell
 * (no membarrier) or a thread stayed inside too long: release nothing. */
int ma_threads_quiesce(void) MA_HIDDEN;
/* A session begins: its first seq, before tracking is turned on.  A seq
 * taken before it (by a thread held up across the gap) is never recorded. */
uint64_t ma_buffers_session_start(void) MA_HIDDEN;
uint64_t ma_seq_reserve(void) MA_HIDDEN;
void ma_record_reserved(uint64_t seq, uint32_t kind, uint64_t addr, uint64_t size) MA_HIDDEN;
void ma_seq_abandon(uint64_t seq) MA_HIDDEN;
/* Writer side. */
struct ma_buf *ma_buffers_take_full(void) MA_HIDDEN;   /* FIFO list */
/* Every batch in hand, full and partial, each thread's in its order;
 * *min_pending = lowest reserved, unrecorded seq. */
struct ma_buf *ma_buffers_sweep(uint64_t *min_pending) MA_HIDDEN;
void ma_buffers_release(struct ma_buf *list) MA_HIDDEN;
/* Adds b into a (counts summed, first/last widened). */
void ma_lost_merge(struct ma_lost *a, const struct ma_lost *b) MA_HIDDEN;
void ma_buffers_wake_all(void) MA_HIDDEN;
void ma_threads_names_dirty(void) MA_HIDDEN;
int ma_threads_take_names_dirty(void) MA_HIDDEN;
void ma_buffers_reset(void) MA_HIDDEN;
int ma_buffers_set_notify_fd(int fd) MA_HIDDEN;
/* Threads: iterate under the registry lock. */
void ma_threads_lock(void) MA_HIDDEN;
void ma_threads_unlock(void) MA_HIDDEN;
struct ma_thread *ma_threads_first(void) MA_HIDDEN;
void ma_threads_reap(void) MA_HIDDEN;   /* reclaim threads that exited */

/* ---- stacks (stack_table.c) ---- */
struct ma_stack {
	struct ma_stack *next_new;
	struct ma_stack *next_all;
	uint64_t hash;
	uint32_t id;
	uint32_t n;
	uint64_t frames[];
};
int ma_stacks_init(void) MA_HIDDEN;
int ma_stacks_reserve(void) MA_HIDDEN;
void ma_stacks_unreserve(void) MA_HIDDEN;
/* Unwinds the caller and returns its stack id (0 when unknown). */
uint32_t ma_stack_capture(void) MA_HIDDEN;
/* The same from a hook whose frame (with a frame pointer) is at hook_fp:
 * the walk starts at the hook's caller, past none of the agent's frames. */
uint32_t ma_stack_capture_at(uintptr_t hook_fp) MA_HIDDEN;
/* PyMem domain allocations (gil: the caller holds the GIL). */
uint32_t ma_stack_capture_py(int gil) MA_HIDDEN;
/* Stacks created since the last call, oldest first. */
struct ma_stack *ma_stacks_take_new(void) MA_HIDDEN;
struct ma_stack *ma_stacks_all(void) MA_HIDDEN;
void ma_stacks_set_agent_range(uintptr_t lo, uintptr_t hi) MA_HIDDEN;
uint64_t ma_stacks_dropped(void) MA_HIDDEN;
/* Forgets every stack (memory back to the kernel); only while
 * ma_threads_quiesce holds. */
void ma_stacks_release(void) MA_HIDDEN;
void ma_stack_cache_clear(void *cache) MA_HIDDEN;

/* ---- libunwind's validation pipe, made descriptor-free (unwind_fds.c);
 * before libunwind's first use ---- */
int ma_unwind_fds_redirect(void) MA_HIDDEN;
int ma_unwind_is_redirect(const void *fn) MA_HIDDEN;   /* got_patch leaves those */
void ma_unwind_caches_release(void) MA_HIDDEN;        /* ma_threads_quiesce held */

/* ---- GOT patching (got_patch.c) ---- */
struct ma_hook_def {
	const char *name;
	void *hook;
	void **real;
};
/* Patches every loaded object not patched yet; returns entries patched. */
int ma_got_patch_all(void) MA_HIDDEN;
/* Restores every patched entry of objects still loaded. */
void ma_got_restore_all(void) MA_HIDDEN;
/* Forgets objects that are no longer loaded (after dlclose). */
void ma_got_forget_unloaded(void) MA_HIDDEN;

/* ---- hooks (hooks.c) ---- */
extern MA_HIDDEN const struct ma_hook_def ma_hook_defs[];
extern MA_HIDDEN const size_t ma_hook_count;
int ma_hooks_resolve(void) MA_HIDDEN;   /* dlsym the real functions */
extern MA_HIDDEN void *(*ma_real_malloc)(size_t);
extern MA_HIDDEN void (*ma_real_free)(void *);

/* ---- modules (modules.c) ---- */
void ma_modules_mark_dirty(void) MA_HIDDEN;
/* Encodes Module / ModuleUnload records for changes since the last call
 * (everything when full) through emit(). */
void ma_modules_sync(int full, void (*emit)(const void *rec, void *ctx), void *ctx) MA_HIDDEN;
int ma_modules_dirty(void) MA_HIDDEN;
void ma_modules_release(void) MA_HIDDEN;
void ma_agent_text_range(uintptr_t *lo, uintptr_t *hi) MA_HIDDEN;

/* ---- warnings for the user, sent in the stream (warnings.c) ---- */
/* printf-like, one line; lasting: repeated to every later session. */
void ma_warn(int lasting, const char *fmt, ...) MA_HIDDEN __attribute__((format(printf, 2, 3)));
void ma_warnings_new_session(void) MA_HIDDEN;
void ma_warnings_emit(void (*emit)(const void *rec, void *ctx), void *ctx) MA_HIDDEN;

/* ---- fork (fork_follow.c) ---- */
/* Registers the fork handlers (once): a child of an untracked fork stays
 * inert; with ma_cfg.follow it starts a session of its own. */
void ma_fork_handlers_install(void) MA_HIDDEN;
/* Forks made while tracking (Tick.forks): the children not followed. */
extern MA_HIDDEN atomic_ulong ma_forks;
/* agent.c: the child forgets its parent's session (tracking off, no
 * writer, no socket); then, when following, starts its own with the
 * parent's configuration before fork() returns in it. */
void ma_agent_forget_in_child(void) MA_HIDDEN;
int ma_agent_start_in_child(void) MA_HIDDEN;
/* dl_iterate_phdr for the agent: every walk of the loader's list holds
 * the agent's dl lock for reading, and a fork takes it for writing, so no
 * walk of ours is under way when the process forks (dl_lock.c says why).
 * The read side is also taken around libunwind (ma_dl_read_lock/unlock),
 * which walks the list itself. */
struct dl_phdr_info;
int ma_dl_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data) MA_HIDDEN;
void ma_dl_read_lock(int take) MA_HIDDEN;
void ma_dl_fork_lock(int take) MA_HIDDEN;
void ma_dl_reset_in_child(void) MA_HIDDEN;
/* Each part's locks, taken around a followed fork so that the child finds
 * none held and no list half-changed (order: as listed). */
void ma_got_fork_lock(int take) MA_HIDDEN;
void ma_modules_fork_lock(int take) MA_HIDDEN;
void ma_warnings_fork_lock(int take) MA_HIDDEN;
void ma_buffers_fork_lock(int take) MA_HIDDEN;      /* threads, then pool */
void ma_stacks_fork_lock(int take) MA_HIDDEN;
void ma_arena_fork_lock(int take) MA_HIDDEN;
/* exec_env.c: the configuration kept at each start; in a followed child
 * LD_PRELOAD and the configuration put in its environment, so that a
 * program it execs is followed; taken out at the session's end. */
void ma_exec_env_keep_config(const char *cfg) MA_HIDDEN;
void ma_exec_env_in_child(void) MA_HIDDEN;
void ma_exec_env_drop(void) MA_HIDDEN;
/* Whether an exec with this process's environment loads the agent (its
 * configuration is there); the two entries (LD_PRELOAD= the agent's file
 * then old_preload, the configuration) for an exec given another
 * environment: 0, or -1 when the agent's file is not usable by name. */
int ma_exec_env_follows(void) MA_HIDDEN;
int ma_exec_env_entries(const char *old_preload, char *preload, size_t plen,
			char *config, size_t clen) MA_HIDDEN;
/* exec_hooks.c: the exec family, whose own environments get those entries */
int ma_h_execve(const char *path, char *const argv[], char *const envp[]) MA_HIDDEN;
int ma_h_execvpe(const char *file, char *const argv[], char *const envp[]) MA_HIDDEN;
int ma_h_execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags) MA_HIDDEN;
int ma_h_fexecve(int fd, char *const argv[], char *const envp[]) MA_HIDDEN;
int ma_h_execle(const char *path, const char *arg, ...) MA_HIDDEN;
int ma_h_posix_spawn(pid_t *pid, const char *path, const void *fa, const void *at,
		     char *const argv[], char *const envp[]) MA_HIDDEN;
int ma_h_posix_spawnp(pid_t *pid, const char *file, const void *fa, const void *at,
		      char *const argv[], char *const envp[]) MA_HIDDEN;
extern MA_HIDDEN void *ma_real_execve, *ma_real_execvpe, *ma_real_execveat, *ma_real_fexecve,
	*ma_real_posix_spawn, *ma_real_posix_spawnp, *ma_real_execle;
/* exec_environ_hooks.c: execv, execvp, execl, execlp as execve / execvpe
 * with environ (an attached process's environment lacks our entries) */
int ma_h_execv(const char *path, char *const argv[]) MA_HIDDEN;
int ma_h_execvp(const char *file, char *const argv[]) MA_HIDDEN;
int ma_h_execl(const char *path, const char *arg, ...) MA_HIDDEN;
int ma_h_execlp(const char *file, const char *arg, ...) MA_HIDDEN;
extern MA_HIDDEN void *ma_real_execv, *ma_real_execvp, *ma_real_execl, *ma_real_execlp;
/* shell_env_hooks.c: system and popen with our entries in environ for
 * the call; a fork's child takes them out of its copy */
int ma_h_system(const char *cmd) MA_HIDDEN;
struct _IO_FILE *ma_h_popen(const char *cmd, const char *mode) MA_HIDDEN;
extern MA_HIDDEN void *ma_real_system, *ma_real_popen;
void ma_shell_env_in_child(void) MA_HIDDEN;
void ma_shell_env_drop(void) MA_HIDDEN;
/* exit_hooks.c: _exit and _Exit end the session first (no destructor runs) */
void ma_h__exit(int status) MA_HIDDEN __attribute__((noreturn));
void ma_h__Exit(int status) MA_HIDDEN __attribute__((noreturn));
extern MA_HIDDEN void *ma_real__exit, *ma_real__Exit;
/* In the child (every lock above held): thread records of the parent's
 * other threads dropped, the caller's renamed, no batch kept. */
void ma_buffers_forget_in_child(void) MA_HIDDEN;

/* ---- writer (writer.c) ---- */
struct Memattach__Record;
int ma_writer_prepare(int fd) MA_HIDDEN;
void ma_writer_emit_now(const struct Memattach__Record *r) MA_HIDDEN;
void ma_writer_set_header(void (*fn)(void)) MA_HIDDEN;
uint64_t ma_writer_rss(void) MA_HIDDEN;
void ma_writer_forget_in_child(void) MA_HIDDEN;
/* Starts the writer thread; setup (when not NULL) runs on it first and
 * ends it when it fails. */
int ma_writer_start(int (*setup)(void)) MA_HIDDEN;
void ma_writer_set_socket(int fd) MA_HIDDEN;
void ma_writer_unprepare(void) MA_HIDDEN;
void ma_writer_notify(void) MA_HIDDEN;
/* Asks the writer to stop and waits for it. */
void ma_writer_stop(int reason) MA_HIDDEN;
void ma_writer_stop_at_exit(void) MA_HIDDEN;
int ma_writer_running(void) MA_HIDDEN;
/* A session whose end is under way (its writer giving memory back): waits
 * up to ms for its writer to be gone; 1 when no writer runs. */
int ma_writer_wait_ended(unsigned ms) MA_HIDDEN;
/* Makes the writer send a Tick carrying id whose watermark covers every
 * event recorded before the call, and waits until it is sent.  0, or
 * -EPIPE when the session ended first. */
int ma_writer_sync(uint64_t id) MA_HIDDEN;

#endif

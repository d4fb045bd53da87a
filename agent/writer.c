/* writer.c — the agent's one thread of its own: takes the batches, turns
 * them into records, writes them to the socket, samples RSS every 10 ms,
 * reads the CLI's commands, and notices when the CLI is gone (write error
 * or hang-up), in which case tracking stops and the target goes on. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agent_internal.h"
#include "python/py_agent.h"
#include "sampler.h"
#include "memattach.pb-c.h"
#include "record_io.h"
#include "batch_wire.h"

#define TICK_NS 10000000ull
#define FLUSH_SLICE_MS 20     /* flush_all's look at the CLI's progress */
/* --sample: while RSS stays below the highest a Tick saw plus an eighth of
 * it (1 MiB at least), each Tick comes twice as late, up to TICK_MAX_NS
 * (this thread's wakeups were most of the agent's CPU in a sampled run:
 * 170 us each); RSS rising past that brings TICK_NS back at once.  A
 * threshold is always above every RSS a Tick sent (the CLI dumps at the
 * first one that reaches it), so only a new high can cross one: RSS going
 * up and down below its high (bench/neutral: 9.7-12 MiB, moves of 1-2 MiB
 * between Ticks) waits 80 ms.  Exact: TICK_NS. */
#define TICK_MAX_NS 80000000ull
#define RSS_STEADY_MIN (1ull << 20)
static uint64_t tick_ns = TICK_NS, tick_rss_high;

static void tick_adapt(uint64_t rss)
{
	uint64_t margin = tick_rss_high / 8 > RSS_STEADY_MIN ? tick_rss_high / 8 : RSS_STEADY_MIN;
	if (!ma_cfg.sample || rss >= tick_rss_high + margin)
		tick_ns = TICK_NS;
	else if (tick_ns < TICK_MAX_NS)
		tick_ns *= 2;
	if (rss > tick_rss_high)
		tick_rss_high = rss;
}
#define REAP_EVERY 10            /* ticks */
#define NAMES_EVERY 100          /* ticks */

static int sock = -1, evfd = -1, statm_fd = -1;
static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t state_cond = PTHREAD_COND_INITIALIZER;
static int running;              /* writer thread alive */
static int ending;               /* its session's end under way (finish) */
static pid_t writer_pid;         /* the process whose session this is */
static atomic_int stop_reason;   /* nonzero: stop requested */
static int disconnected;
static void (*send_header_fn)(void);
/* memattach_agent_sync(): the id asked for (0: none), the seq its Tick's
 * watermark must reach, and the last id whose Tick went out. */
static atomic_uint_fast64_t sync_want;
static uint64_t sync_target, sync_done;

/* Output buffer: records accumulate here and go out in large writes;
 * out[0, out_off) is sent already. */
static uint8_t *out;
static size_t out_len, out_off, out_cap;

static int out_reserve(size_t n)
{
	if (out_len + n <= out_cap)
		return 0;
	if (out_off) {
		memmove(out, out + out_off, out_len - out_off);
		out_len -= out_off;
		out_off = 0;
		if (out_len + n <= out_cap)
			return 0;
	}
	size_t cap = out_cap ? out_cap : (1u << 20);
	while (cap < out_len + n)
		cap *= 2;
	uint8_t *b = ma_pages_alloc(cap);
	if (!b)
		return -1;
	if (out_len)
		memcpy(b, out, out_len);
	ma_pages_free(out, out_cap);
	out = b;
	out_cap = cap;
	return 0;
}

/* Sends what the socket takes without waiting; nonzero while bytes
 * remain (the CLI is not reading fast enough, or not at all). */
static int flush_some(void)
{
	while (out_off < out_len && !disconnected) {
		ssize_t w = send(sock, out + out_off, out_len - out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (w <= 0) {
			disconnected = 1;
			break;
		}
		out_off += (size_t)w;
		ma_clock_tick();   /* a send may have taken a while */
	}
	out_len = out_off = 0;
	return 0;
}

/* Bytes the CLI has not read yet (sent or not): it reading any of them
 * is progress, though the socket may not take more yet (POLLOUT waits
 * for three quarters of the buffer to drain). */
static size_t unread_bytes(void)
{
	int q = 0;
	if (ioctl(sock, TIOCOUTQ, &q) < 0 || q < 0)
		q = 0;
	return out_len - out_off + (size_t)q;
}

/* Sends everything, giving up (the session ends) after idle_ms without
 * progress (the CLI reading bytes; with cli_fd >= 0 also the CLI seen at
 * work, cli_watch.c), or after max_ms in all (0: no cap).  A slow but
 * reading CLI gets every byte; a stopped or dead one costs idle_ms.
 * Polled in short slices, the socket's own wakeup being coarse. */
static void flush_all(int idle_ms, int max_ms, int cli_fd)
{
	uint64_t t0 = ma_now_ns(), last = t0;
	size_t left = unread_bytes();
	while (flush_some()) {
		struct pollfd pf = {sock, POLLOUT, 0};
		int r = poll(&pf, 1, idle_ms < FLUSH_SLICE_MS ? (idle_ms > 0 ? idle_ms : 1) : FLUSH_SLICE_MS);
		uint64_t now = ma_now_ns();
		size_t now_left = unread_bytes();
		if (now_left < left || ma_cli_at_work(cli_fd))
			last = now;
		left = now_left;
		if ((r < 0 && errno != EINTR) || now - last >= (uint64_t)idle_ms * 1000000ull ||
		    (max_ms > 0 && now - t0 >= (uint64_t)max_ms * 1000000ull)) {
			disconnected = 1;
			out_len = out_off = 0;
		}
	}
}

/* The last flush: a send buffer as large as the kernel allows
 * (net.core.wmem_max) for what is left, so that fewer waits happen. */
static void grow_send_buffer(void)
{
	int cur = 0, want;
	socklen_t l = sizeof(cur);
	size_t left = out_len - out_off;
	if (getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &cur, &l) < 0 || left <= (size_t)cur)
		return;
	want = left > (64u << 20) ? (64 << 20) : (int)left;
	(void)setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
}

static int stall_ms(void)
{
	return (int)((ma_cfg.stall_ns + 999999) / 1000000);
}

/* While tracking: with --on-stall end a CLI that does not read for the
 * limit ends the session; else the writer never waits for it (the loop
 * sends the rest when the socket takes it, and takes no batches meanwhile,
 * so that the threads drop events rather than wait). */
static void flush_out(void)
{
	if (ma_cfg.stall_end)
		flush_all(stall_ms(), 0, -1);
	else
		flush_some();
}

static void emit(const void *rec, void *ctx)
{
	(void)ctx;
	const Memattach__Record *r = rec;
	size_t body = memattach__record__get_packed_size(r);
	if (out_reserve(body + 10) < 0)
		return;
	out_len += ma_record_pack_framed_body(r, body, out + out_len);
	if (out_len > (4u << 20))
		flush_out();
}

static uint64_t rss_bytes(void)
{
	char buf[128];
	unsigned long size = 0, resident = 0;
	if (statm_fd < 0)
		return 0;
	ssize_t n = pread(statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)getpagesize();
}

static void emit_batch(const struct ma_buf *b)
{
	if (out_reserve(ma_batch_wire_bound(b->n)) < 0)
		return;
	out_len += ma_batch_wire(b, ma_start_ns, out + out_len);
	if (out_len > (4u << 20))
		flush_out();
}

static void emit_stack(const struct ma_stack *s)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Stack st = MEMATTACH__STACK__INIT;
	st.id = s->id;
	st.n_frames = s->n;
	st.frames = (uint64_t *)s->frames;
	rec.r_case = MEMATTACH__RECORD__R_STACK;
	rec.stack = &st;
	emit(&rec, NULL);
}

static void read_comm(uint32_t tid, char *name, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	name[0] = 0;
	if (fd < 0)
		return;
	ssize_t n = read(fd, name, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	name[n] = 0;
	if (n > 0 && name[n - 1] == '\n')
		name[n - 1] = 0;
}

/* Announces new threads, and renamed ones when asked to look; a thread's
 * name is its Python one (threading) when known, else its comm.  Returns
 * nonzero when a thread was announced for the first time. */
static int emit_threads(int rescan)
{
	int fresh = 0;
	ma_threads_lock();
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next) {
		if (t->announced && !rescan)
			continue;
		char name[MA_THREAD_NAME];
		int py = ma_py_thread_name(t->tid, name, sizeof(name));
		/* A Python thread leaves threading._active just before it ends:
		 * it keeps its Python name rather than fall back to comm. */
		if (!py && t->py_named && t->announced)
			continue;
		if (!py)
			read_comm(t->tid, name, sizeof(name));
		if (t->announced && !strcmp(name, t->name))
			continue;
		memcpy(t->name, name, sizeof(name));
		t->py_named = py;
		fresh |= !t->announced;
		t->announced = 1;
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__ThreadInfo ti = MEMATTACH__THREAD_INFO__INIT;
		ti.tid = t->tid;
		ti.name = t->name;
		ti.seq = atomic_load(&ma_seq);
		ti.parent_tid = t->parent_tid;
		ti.born_seq = t->born_seq;
		rec.r_case = MEMATTACH__RECORD__R_THREAD;
		rec.thread = &ti;
		emit(&rec, NULL);
	}
	ma_threads_unlock();
	return fresh;
}

/* What threads dropped (event_buffer.c), swept by this cycle. */
static void emit_lost(void)
{
	ma_threads_lock();
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next) {
		struct ma_lost *l = &t->lost_taken;
		if (!(l->allocs | l->frees))
			continue;
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__EventsLost el = MEMATTACH__EVENTS_LOST__INIT;
		el.tid = t->tid;
		el.allocations = l->allocs;
		el.allocation_bytes = l->alloc_bytes;
		el.frees = l->frees;
		el.free_bytes = l->free_bytes;
		el.first_time_ns = l->first_ns > ma_start_ns ? l->first_ns - ma_start_ns : 0;
		el.last_time_ns = l->last_ns > ma_start_ns ? l->last_ns - ma_start_ns : 0;
		el.first_seq = l->first_seq;
		el.last_seq = l->last_seq;
		rec.r_case = MEMATTACH__RECORD__R_EVENTS_LOST;
		rec.events_lost = &el;
		emit(&rec, NULL);
		memset(l, 0, sizeof(*l));
	}
	ma_threads_unlock();
}

static void emit_stacks_and_batches(struct ma_buf *batches)
{
	/* Stacks go first: every event in these batches was recorded after
	 * its stack was published, and every stack after its Python frames. */
	ma_py_emit(0, emit);
	for (struct ma_stack *s = ma_stacks_take_new(); s; s = s->next_new)
		emit_stack(s);
	for (struct ma_buf *b = batches; b; b = b->next) {
		emit_batch(b);
		ma_clock_tick();
	}
	ma_buffers_release(batches);
}

/* One period: everything recorded so far, then a watermark; the Tick
 * carries sync_id when given.  Returns the watermark. */
static uint64_t cycle(unsigned tick_no, int rescan_names, uint64_t sync_id)
{
	uint64_t w = atomic_load(&ma_seq), pending;
	struct ma_buf *batches = ma_buffers_sweep(&pending);
	if (pending < w)
		w = pending;
	if (ma_modules_dirty())
		ma_modules_sync(0, emit, NULL);
	ma_warnings_emit(emit, NULL);
	int periodic = tick_no % NAMES_EVERY == 0;
	int fresh = emit_threads(rescan_names || ma_threads_take_names_dirty() || periodic);
	/* Python names come later, from a thread of their own (py_threads.c):
	 * asked for when a thread is new and once per rescan period. */
	if (atomic_load(&ma_tracking))
		ma_py_threads_refresh(fresh || periodic);
	emit_stacks_and_batches(batches);
	emit_lost();
	ma_sample_emit_counts(emit);
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Tick tk = MEMATTACH__TICK__INIT;
	tk.watermark = w;
	tk.time_ns = ma_now_ns() - ma_start_ns;
	tk.rss_bytes = rss_bytes();
	tick_adapt(tk.rss_bytes);
	tk.sync_id = w >= sync_target ? sync_id : 0;
	tk.forks = atomic_load(&ma_forks);
	rec.r_case = MEMATTACH__RECORD__R_TICK;
	rec.tick = &tk;
	emit(&rec, NULL);
	flush_out();
	if (tick_no % REAP_EVERY == 0)
		ma_threads_reap();
	return w;
}

/* A sync asked for: a cycle now.  Its Tick carries the id once the
 * watermark covers the target (a seq another thread reserved may hold it
 * back for a moment: then the next pass tries again). */
static void serve_sync(unsigned *tick_no)
{
	uint64_t id = atomic_load(&sync_want);
	if (!id)
		return;
	if (cycle(++*tick_no, 0, id) < sync_target)
		return;
	pthread_mutex_lock(&state_lock);
	sync_done = id;
	atomic_store(&sync_want, 0);
	pthread_cond_broadcast(&state_cond);
	pthread_mutex_unlock(&state_lock);
}

/* memattach asked for the end (not the program): the final flush may
 * wait longer, no thread of the program waits for it. */
static int cli_asked_stop;

/* Reads the CLI's commands.  Returns nonzero when the CLI hung up. */
static uint8_t in[4096];
static size_t in_len;

static int read_control(void)
{
	ssize_t n = recv(sock, in + in_len, sizeof(in) - in_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return 1;
	in_len += (size_t)n;
	for (;;) {
		uint64_t len;
		int k = ma_varint_get(in, in + in_len, &len);
		if (k < 0 || len > sizeof(in) - 16)
			return 1;    /* garbage: treat as gone */
		if (k == 0 || in_len < k + len)
			break;
		Memattach__Record *r = memattach__record__unpack(NULL, len, in + k);
		if (r) {
			if (r->r_case == MEMATTACH__RECORD__R_CONTROL && r->control &&
			    r->control->op == MEMATTACH__CONTROL__OP__STOP) {
				cli_asked_stop = 1;
				atomic_store(&stop_reason, MEMATTACH__STOP_REASON__STOP_REQUESTED);
			}
			memattach__record__free_unpacked(r, NULL);
		}
		memmove(in, in + k + len, in_len - k - len);
		in_len -= k + len;
	}
	return 0;
}

/* After a session the agent keeps only what a later one needs (thread
 * records, Python frame names, the GOT scratch): the stream's buffers and
 * the module map are the writer's alone, and the stack table waits until
 * no thread is inside a hook (ma_threads_quiesce; when that cannot be
 * told, the table stays as it is). */
static void release_memory(void)
{
	ma_pages_free(out, out_cap);
	out = NULL;
	out_cap = 0;
	ma_batch_wire_release();
	ma_modules_release();
	ma_sample_release();
	if (ma_threads_quiesce() == 0) {
		ma_stacks_release();
		ma_unwind_caches_release();
		ma_threads_unlock();
	}
}

static void finish(int reason)
{
	/* Nothing records once tracking is off; the final sweep then holds
	 * every event (see event_buffer.c). */
	atomic_store(&ma_tracking, 0);
	ma_got_restore_all();
	ma_pyalloc_stop();
	ma_buffers_wake_all();
	if (!disconnected) {
		cycle(1, 0, 0);
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
		at.reason = reason;
		at.watermark = atomic_load(&ma_seq);
		at.time_ns = ma_now_ns() - ma_start_ns;
		at.dropped_events = ma_stacks_dropped();
		rec.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
		rec.agent_trailer = &at;
		emit(&rec, NULL);
		grow_send_buffer();
		if (cli_asked_stop) {
			flush_all(MA_STOP_FLUSH_MS, 0, -1);
		} else {
			int cli = ma_cli_watch_open(sock);
			flush_all(MA_FINAL_FLUSH_MS, MA_FINAL_FLUSH_MAX_MS, cli);
			if (cli >= 0)
				close(cli);
		}
		shutdown(sock, SHUT_WR);
	}
	ma_buffers_reset();
	ma_buffers_set_notify_fd(-1);
	close(sock);
	close(evfd);
	close(statm_fd);
	sock = evfd = statm_fd = -1;
	out_len = out_off = 0;
	/* A process that exits gets nothing from memory given back, and its
	 * daemon threads may still run through the hooks and the module map. */
	if (reason != MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT) {
		ma_exec_env_drop();
		ma_shell_env_drop();
		release_memory();
	}
}

/* MEMATTACH_TEST_END_DELAY_MS in the target's environment: a session's
 * end that gives memory back slowly, as under load (attach-back-to-back.sh). */
static void end_delay_for_tests(void)
{
	const char *d = getenv("MEMATTACH_TEST_END_DELAY_MS");
	long ms = d ? strtol(d, NULL, 10) : 0;
	if (ms > 0 && ms <= 10000) {
		struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
		nanosleep(&t, NULL);
	}
}

static void writer_exit(void)
{
	pthread_mutex_lock(&state_lock);
	running = 0;
	ending = 0;
	pthread_cond_broadcast(&state_cond);
	pthread_mutex_unlock(&state_lock);
}

/* How long the writer's loop may sleep: until the next Tick; 1 ms while
 * events flow, to keep the clock fresh (sampled events read the clock
 * themselves: ma_event_ns); not at all for a sync asked for.  Backed up,
 * no Tick or sync is served until the socket takes the rest, so a past
 * Tick or a sync must not make it 0: the loop spun a CPU of the target
 * for as long as the CLI did not read (a stopped memattach: 88-94 of 100
 * ticks a second on the agent's thread).  Then it waits for POLLOUT, a
 * control record, the eventfd, or a retry: 1 ms while events flow (their
 * clock, the dropped ones' times), else a Tick's time. */
static int loop_timeout(uint64_t now, uint64_t next_tick, int flowing, int backed)
{
	int timeout = now >= next_tick ? 0 : (int)((next_tick - now) / 1000000) + 1;
	if (flowing && timeout > 1 && !ma_cfg.sample)
		timeout = 1;
	if (atomic_load(&sync_want))
		timeout = 0;
	if (backed && timeout == 0)
		timeout = flowing && !ma_cfg.sample ? 1 : (int)(TICK_NS / 1000000);
	return timeout;
}

/* Its own name in top -H and /proc: it would carry its creator's (the
 * program's, or the injector's loader thread's).  Not under a seccomp
 * filter: prctl is no call the attach judged there, and one could kill. */
static void name_thread(void)
{
	char st[4096];
	ma_read_file("/proc/thread-self/status", st, sizeof st, 0);
	if (strstr(st, "\nSeccomp:\t0\n"))
		prctl(PR_SET_NAME, "memattach");
}

static void *writer_main(void *arg)
{
	int (*setup)(void) = (int (*)(void))arg;
	ma_tls.guard = 1;    /* nothing on this thread is ever recorded */
	name_thread();
	if (setup && setup() < 0) {
		writer_exit();   /* the CLI sees no connection */
		return NULL;
	}
	unsigned tick_no = 0;
	tick_ns = TICK_NS;
	tick_rss_high = 0;
	uint64_t next_tick = ma_now_ns() + TICK_NS, last_seq = 0;
	int reason = 0;

	if (send_header_fn)
		send_header_fn();
	ma_modules_sync(1, emit, NULL);
	ma_warnings_emit(emit, NULL);
	/* A new session resends every stack known from an earlier one. */
	ma_py_emit(1, emit);
	ma_stacks_take_new();
	for (struct ma_stack *s = ma_stacks_all(); s; s = s->next_all)
		emit_stack(s);
	cycle(0, 1, 0);

	while (!disconnected) {
		reason = atomic_load(&stop_reason);
		if (reason)
			break;
		if (atomic_load(&ma_stalled)) {
			disconnected = 1;   /* the CLI stopped reading: give up */
			break;
		}
		uint64_t now = ma_now_ns(), seq = atomic_load(&ma_seq);
		atomic_store_explicit(&ma_clock_ns, now, memory_order_relaxed);
		int backed = out_len > out_off;   /* the CLI has not taken it all */
		int timeout = loop_timeout(now, next_tick, seq != last_seq, backed);
		last_seq = seq;
		struct pollfd pf[2] = {{sock, POLLIN | (backed ? POLLOUT : 0), 0}, {evfd, POLLIN, 0}};
		int r = poll(pf, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) && read_control()) {
			disconnected = 1;
			break;
		}
		if (r > 0 && (pf[1].revents & POLLIN)) {
			uint64_t v;
			ssize_t k = read(evfd, &v, sizeof(v));
			(void)k;
		}
		/* Backed up: take nothing more; the threads drop past the limit. */
		if (backed && flush_some())
			continue;
		struct ma_buf *full = ma_buffers_take_full();
		if (full) {
			emit_stacks_and_batches(full);
			flush_out();
		}
		serve_sync(&tick_no);
		now = ma_now_ns();
		if (now >= next_tick) {
			cycle(++tick_no, 0, 0);
			next_tick = now + tick_ns;
		}
	}
	if (disconnected)
		reason = MEMATTACH__STOP_REASON__STOP_DISCONNECTED;
	pthread_mutex_lock(&state_lock);
	ending = 1;
	pthread_mutex_unlock(&state_lock);
	finish(reason);
	end_delay_for_tests();
	writer_exit();
	return NULL;
}

/* Sends records before the thread exists (header, module map). */
void ma_writer_emit_now(const Memattach__Record *r)
{
	emit(r, NULL);
}

int ma_writer_prepare(int fd)
{
	sock = fd;
	disconnected = 0;
	cli_asked_stop = 0;
	atomic_store(&sync_want, 0);
	if (ma_batch_wire_prepare() < 0)
		return -ENOMEM;
	atomic_store(&ma_stalled, 0);
	evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	statm_fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (evfd < 0)
		return -errno;
	ma_buffers_set_notify_fd(evfd);
	return disconnected ? -EPIPE : 0;
}

void ma_writer_set_socket(int fd)
{
	sock = fd;
}

/* Undoes ma_writer_prepare when the session could not start. */
void ma_writer_unprepare(void)
{
	ma_buffers_reset();
	ma_buffers_set_notify_fd(-1);
	if (evfd >= 0)
		close(evfd);
	if (statm_fd >= 0)
		close(statm_fd);
	evfd = statm_fd = -1;
	out_len = out_off = 0;
}

uint64_t ma_writer_rss(void)
{
	return rss_bytes();
}

void ma_writer_set_header(void (*fn)(void))
{
	send_header_fn = fn;
}

int ma_writer_start(int (*setup)(void))
{
	writer_pid = (pid_t)syscall(SYS_getpid);
	pthread_t th;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&state_lock);
	running = 1;
	atomic_store(&stop_reason, 0);   /* before a stop can be asked */
	pthread_mutex_unlock(&state_lock);
	/* The agent's thread takes none of the target's signals (whatever
	 * the mask of the thread that starts it). */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&th, &at, writer_main, (void *)setup);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&at);
	if (r) {
		running = 0;
		return -r;
	}
	return 0;
}

void ma_writer_notify(void)
{
	if (evfd >= 0) {
		uint64_t one = 1;
		ssize_t r = write(evfd, &one, sizeof(one));
		(void)r;
	}
}

/* With state_lock held: the writer asked to stop, and waited for. */
static void stop_locked(int reason)
{
	if (running) {
		int zero = 0;
		atomic_compare_exchange_strong(&stop_reason, &zero, reason);
		ma_writer_notify();
		while (running)
			pthread_cond_wait(&state_cond, &state_lock);
	}
}

void ma_writer_stop(int reason)
{
	pthread_mutex_lock(&state_lock);
	stop_locked(reason);
	pthread_mutex_unlock(&state_lock);
}

int ma_writer_sync(uint64_t id)
{
	pthread_mutex_lock(&state_lock);
	/* one sync at a time: a second caller waits for the first */
	while (running && atomic_load(&sync_want))
		pthread_cond_wait(&state_cond, &state_lock);
	if (!running) {
		pthread_mutex_unlock(&state_lock);
		return -EPIPE;
	}
	sync_target = atomic_load(&ma_seq);
	atomic_store(&sync_want, id);
	ma_writer_notify();
	while (running && sync_done != id)
		pthread_cond_wait(&state_cond, &state_lock);
	int r = sync_done == id ? 0 : -EPIPE;
	pthread_mutex_unlock(&state_lock);
	return r;
}

/* _exit or _Exit called by the program: no destructor will run, so the
 * session ends here as at exit, its last batches and trailer sent.  Not
 * in a vfork child or an untracked fork's (another pid: the memory is the
 * parent's, or a copy whose writer thread does not exist), nor from
 * inside the agent on this thread. */
void ma_writer_stop_at_exit(void)
{
	if (ma_tls.guard || (pid_t)syscall(SYS_getpid) != writer_pid)
		return;
	/* A signal handler's _exit may have interrupted this very thread
	 * holding the lock: tried for 100 ms at most, then the end as before. */
	for (int i = 0; pthread_mutex_trylock(&state_lock); i++) {
		if (i == 100)
			return;
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	ma_tls.guard++;
	stop_locked(MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT);
	ma_tls.guard--;
	pthread_mutex_unlock(&state_lock);
}

int ma_writer_wait_ended(unsigned ms)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&state_lock);
	while (running && ending)
		if (pthread_cond_timedwait(&state_cond, &state_lock, &dl) == ETIMEDOUT)
			break;
	int r = !running;
	pthread_mutex_unlock(&state_lock);
	return r;
}

int ma_writer_running(void)
{
	pthread_mutex_lock(&state_lock);
	int r = running;
	pthread_mutex_unlock(&state_lock);
	return r;
}

/* In a forked child the writer does not exist: drop the session quietly. */
void ma_writer_forget_in_child(void)
{
	running = ending = 0;
	if (sock >= 0)
		close(sock);
	if (evfd >= 0)
		close(evfd);
	if (statm_fd >= 0)
		close(statm_fd);
	sock = evfd = statm_fd = -1;
	out_len = out_off = in_len = 0;    /* the parent's, unsent */
	atomic_store(&stop_reason, 0);
	atomic_store(&sync_want, 0);
	sync_target = sync_done = 0;
	disconnected = 0;
	ma_buffers_set_notify_fd(-1);
	pthread_mutex_init(&state_lock, NULL);
	pthread_cond_init(&state_cond, NULL);
}

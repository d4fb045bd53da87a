/* agent.c — start and stop of a tracking session, the LD_PRELOAD
 * constructor, and what a forked child must forget. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "agent.h"
#include "agent_internal.h"
#include "batch_wire.h"
#include "python/py_agent.h"
#include "sampler.h"
#include "memattach.pb-c.h"
#include "record_io.h"

#define AGENT_VERSION "0.1.0"

struct ma_config ma_cfg;
atomic_int ma_tracking;
struct ma_line ma_seq_line;
uint64_t ma_start_ns;
__thread struct ma_tls ma_tls __attribute__((tls_model("initial-exec")));

static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t first_seq;
static uint64_t start_call_ns, start_call_cpu_ns;   /* the last start call */

struct ma_line ma_clock_line;

uint64_t ma_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

pid_t ma_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static int parse_config(const char *s, struct ma_config *c)
{
	memset(c, 0, sizeof(*c));
	c->depth = 64;
	c->stall_ns = MA_STALL_DEFAULT_NS;
	while (s && *s) {
		const char *end = strchr(s, ';');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *eq = memchr(s, '=', len);
		if (eq) {
			size_t kl = (size_t)(eq - s), vl = len - kl - 1;
			const char *v = eq + 1;
			if (kl == 6 && !memcmp(s, "socket", 6)) {
				if (vl >= sizeof(c->socket_path))
					return -EINVAL;
				memcpy(c->socket_path, v, vl);
				c->socket_path[vl] = 0;
			} else if (kl == 5 && !memcmp(s, "depth", 5)) {
				long d = strtol(v, NULL, 10);
				if (d < 1 || d > MA_MAX_DEPTH)
					return -EINVAL;
				c->depth = (unsigned)d;
			} else if (kl == 8 && !memcmp(s, "attached", 8)) {
				c->attached = v[0] == '1';
			} else if (kl == 6 && !memcmp(s, "inproc", 6)) {
				c->inproc = v[0] == '1';
			} else if (kl == 7 && !memcmp(s, "pyalloc", 7)) {
				c->pyalloc = v[0] == '1';
			} else if (kl == 8 && !memcmp(s, "pynative", 8)) {
				c->pynative = v[0] == '1';
			} else if (kl == 8 && !memcmp(s, "stall_us", 8)) {
				long long us = strtoll(v, NULL, 10);
				if (us < 1 || us > 3600000000ll)
					return -EINVAL;
				c->stall_ns = (uint64_t)us * 1000u;
			} else if (kl == 6 && !memcmp(s, "follow", 6)) {
				c->follow = v[0] == '1';
			} else if (kl == 6 && !memcmp(s, "sample", 6)) {
				c->sample = strtoull(v, NULL, 10);
			} else if (kl == 4 && !memcmp(s, "seed", 4)) {
				c->sample_seed = strtoull(v, NULL, 10);
			} else if (kl == 7 && !memcmp(s, "onstall", 7)) {
				c->stall_end = vl == 3 && !memcmp(v, "end", 3);
			}
		}
		s = end ? end + 1 : NULL;
	}
	return c->socket_path[0] ? 0 : -EINVAL;
}

void ma_read_file(const char *path, char *buf, size_t len, int nul_to_space)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == 0))
		buf[--n] = 0;
	if (nul_to_space)
		for (ssize_t i = 0; i < n; i++)
			if (!buf[i])
				buf[i] = ' ';
}

static void send_header(void)
{
	static char cmdline[4096], comm[64], exe[4096], host[256];
	struct timespec rt;
	ma_read_file("/proc/self/cmdline", cmdline, sizeof(cmdline), 1);
	ma_read_file("/proc/self/comm", comm, sizeof(comm), 0);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = 0;
	clock_gettime(CLOCK_REALTIME, &rt);

	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Header h = MEMATTACH__HEADER__INIT;
	h.format_major = MA_FORMAT_MAJOR;
	h.format_minor = MA_FORMAT_MINOR;
	h.pid = (uint32_t)getpid();
	h.command_line = cmdline;
	h.comm = comm;
	h.executable = exe;
	h.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	h.start_monotonic_ns = ma_start_ns;
	h.native_depth = ma_cfg.depth;
	h.page_size = (uint32_t)getpagesize();
	h.agent_version = (char *)AGENT_VERSION;
	h.hostname = host;
	h.attached = ma_cfg.attached;
	h.rss_at_start = ma_writer_rss();
	h.first_seq = first_seq;
	h.start_call_ns = start_call_ns;
	h.start_call_cpu_ns = start_call_cpu_ns;
	h.sample_interval = ma_cfg.sample;
	h.sample_seed = ma_cfg.sample_seed;
	rec.r_case = MEMATTACH__RECORD__R_HEADER;
	rec.header = &h;
	ma_writer_emit_now(&rec);
}

void ma_agent_forget_in_child(void)
{
	/* The child runs untracked: its GOT entries still lead to the hooks,
	 * which pass straight through from now on. */
	atomic_store(&ma_tracking, 0);
	ma_writer_forget_in_child();
	ma_py_threads_forget_in_child();
	ma_sample_forget_in_child();
	pthread_mutex_init(&session_lock, NULL);
}

static int connect_socket(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, n + 1);
	socklen_t len = sizeof(sa);
	if (path[0] == '@') {   /* abstract: a root with no writable place */
		sa.sun_path[0] = 0;
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int forked_start;   /* session_setup runs in a fork's child */

/* Everything a session needs before its first record: the hooks' real
 * functions, the writer's state, tracking on, the GOT patched — then the
 * connection, so that the CLI, once it accepts, knows the hooks are in
 * place.  Undone on failure.  Attached, this runs on the agent's own
 * thread (session_lock held), not on the thread the injector stopped. */
static int session_setup(void)
{
	int r;
	if (ma_stacks_init() < 0)
		return -ENOMEM;
	uintptr_t lo, hi;
	ma_agent_text_range(&lo, &hi);
	ma_stacks_set_agent_range(lo, hi);
	if (ma_hooks_resolve() < 0)
		return -ENOSYS;
	ma_fork_handlers_install();
	if ((r = ma_writer_prepare(-1)) < 0)
		return r;
	/* The header and module map are sent by the writer thread: during an
	 * attach the CLI is busy with ptrace while this runs, and a large
	 * module map could fill the socket. */
	ma_start_ns = ma_now_ns();
	ma_clock_tick();
	first_seq = ma_buffers_session_start();
	ma_writer_set_header(send_header);
	/* Every entry patched before the hooks record: patched one by one
	 * with tracking on, a thread could see its free hooked while its
	 * malloc still went straight to libc (frees without allocations).
	 * The second pass takes objects a dlopen added meanwhile (h_dlopen
	 * patches only while tracking). */
	ma_sample_session_start();
	ma_got_patch_all();
	atomic_store(&ma_tracking, 1);
	ma_got_patch_all();
	/* Frees before this went unseen: no Python walk may trust an older
	 * generation (py_walk.c). */
	atomic_fetch_add(&ma_mem_gen, 1);
	if (ma_cfg.pyalloc)
		ma_pyalloc_start();
	int fd = connect_socket(ma_cfg.socket_path);
	if (fd < 0) {
		atomic_store(&ma_tracking, 0);
		ma_got_restore_all();
		ma_pyalloc_stop();
		ma_writer_unprepare();
		return fd;
	}
	/* before any other record: which process this is */
	ma_identity_send(fd, forked_start);
	ma_writer_set_socket(fd);
	return 0;
}

/* The agent's thread, attached: the session's setup, under the lock the
 * start call held while it measured itself. */
static int session_setup_locked(void)
{
	pthread_mutex_lock(&session_lock);
	int r = session_setup();
	pthread_mutex_unlock(&session_lock);
	return r;
}

/* Preloaded: the writer waits for the start call to have measured itself
 * (the header carries it). */
static int session_started(void)
{
	pthread_mutex_lock(&session_lock);
	pthread_mutex_unlock(&session_lock);
	return 0;
}

/* A socket that is not there fails the start call at once, although the
 * connection is made later (attached: by the agent's thread). */
static int socket_present(const char *path)
{
	struct stat st;
	if (path[0] == '@')   /* abstract: no file to look at */
		return 0;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISSOCK(st.st_mode) ? 0 : -ENOTSOCK;
}

/* Attached: the injector stopped this thread for us (or runs it as its
 * loader thread): it only starts ours, which does the rest (the setup,
 * then the writer's work).  The large tables are mapped here first: a
 * target at its address-space limit fails this call (ENOMEM; EAGAIN when
 * our thread cannot start), which the CLI explains, and keeps no mapping
 * of ours but the libraries. */
static int start_attached(void)
{
	int r = -ENOMEM;
	if (ma_stacks_reserve() == 0 && ma_batch_wire_prepare() == 0 &&
	    (r = ma_writer_start(session_setup_locked)) == 0)
		return 0;
	ma_batch_wire_release();
	ma_stacks_unreserve();
	return r;
}

/* A session with configuration c; the caller holds session_lock. */
static int start_locked(const struct ma_config *c)
{
	int r = socket_present(c->socket_path);
	if (r < 0)
		return r;
	ma_cfg = *c;
	ma_warnings_new_session();
	if (c->attached && !c->inproc)
		return start_attached();
	/* Preloaded, started by the program itself (inproc), or a followed
	 * fork's child: the program must not run before the hooks. */
	r = session_setup();
	if (r == 0 && (r = ma_writer_start(session_started)) < 0) {
		atomic_store(&ma_tracking, 0);
		ma_got_restore_all();
	}
	return r;
}

#define END_WAIT_MS 2000

int memattach_agent_start(const char *config)
{
	struct ma_config c;
	int r;
	uint64_t t0 = ma_now_ns(), cpu0 = thread_cpu_ns();

	ma_tls.guard++;
	pthread_mutex_lock(&session_lock);
	/* An attach right after a detach may find the last session still
	 * giving memory back: that is no other memattach, so it is waited for. */
	ma_writer_wait_ended(END_WAIT_MS);
	if (atomic_load(&ma_tracking) || ma_writer_running())
		r = -EALREADY;
	else if ((r = parse_config(config, &c)) == 0) {
		ma_exec_env_keep_config(config);   /* for a followed child's exec */
		r = start_locked(&c);
	}
	start_call_ns = ma_now_ns() - t0;
	start_call_cpu_ns = thread_cpu_ns() - cpu0;
	pthread_mutex_unlock(&session_lock);
	ma_tls.guard--;
	return r;
}

/* fork_follow.c, in a followed fork's child (its parent's session
 * forgotten): the same configuration, set up before fork() returns.  Its
 * heap was there before its session: attached, as after an injection. */
int ma_agent_start_in_child(void)
{
	struct ma_config c = ma_cfg;
	uint64_t t0 = ma_now_ns(), cpu0 = thread_cpu_ns();
	c.attached = c.inproc = 1;
	pthread_mutex_lock(&session_lock);
	forked_start = 1;
	int r = start_locked(&c);
	forked_start = 0;
	start_call_ns = ma_now_ns() - t0;
	start_call_cpu_ns = thread_cpu_ns() - cpu0;
	pthread_mutex_unlock(&session_lock);
	return r;
}

int memattach_agent_stop(void)
{
	ma_tls.guard++;
	int was = ma_writer_running();
	ma_writer_stop(MEMATTACH__STOP_REASON__STOP_REQUESTED);
	ma_tls.guard--;
	return was ? 0 : -EALREADY;
}

int memattach_agent_sync(unsigned long long id)
{
	if (!id)
		return -EINVAL;
	ma_tls.guard++;
	int r = ma_writer_sync(id);
	ma_tls.guard--;
	return r;
}

int memattach_agent_active(void)
{
	return atomic_load(&ma_tracking);
}

/* Under LD_PRELOAD (memattach run) the configuration comes from the
 * environment.  It names the pid `run` started: that process connects, and
 * so does each program it execs in place (a pyenv shim, `env`, a wrapper
 * script's `exec`), which keeps pid and environment; children it starts
 * have other pids and stay inert. */
static long config_num(const char *cfg, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = cfg; p && *p; p = strchr(p, ';'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, kl) == 0)
			return strtol(p + kl, NULL, 10);
	return 0;
}

__attribute__((constructor)) static void agent_preload_init(void)
{
	const char *cfg = getenv(MEMATTACH_AGENT_CONFIG_ENV);
	if (!cfg)
		return;
	long want = config_num(cfg, "pid=");
	/* --follow-fork: every process of the tree is tracked, programs
	 * its children exec included. */
	if (want && want != (long)getpid() && config_num(cfg, "follow=") != 1)
		return;
	char copy[1024];
	strncpy(copy, cfg, sizeof(copy) - 1);
	copy[sizeof(copy) - 1] = 0;
	if (!want)
		unsetenv(MEMATTACH_AGENT_CONFIG_ENV);
	memattach_agent_start(copy);
}

__attribute__((destructor)) static void agent_fini(void)
{
	if (ma_writer_running()) {
		ma_tls.guard++;
		ma_writer_stop(MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT);
		ma_tls.guard--;
	}
}

/* session.c — the CLI's end of the stream: listen, accept (checking who
 * connects), copy whole records into the capture file, say stop. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "cli/capture/session.h"
#include "cli/capture/agent_warning.h"
#include "cli/capture/target_ids.h"
#include "cli/capture/target_root.h"
#include "record_io.h"
#include "record_limits.h"
#include "cli/util/parse_units.h"
#include "cli/symbols/symbolize.h"

#define FLUSH_EVERY_NS 200000000ull   /* a killed CLI loses at most this much */

uint64_t ma_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void session_init(struct ma_session *s)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = s->conn_fd = -1;
	s->sd.fd = s->sd.parent_fd = -1;
}

/* The directory stays ours; only the socket is given to uid:gid so that
 * the target's user can connect (session_dir.c). */
static int listen_in_dir(struct ma_session *s, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if ((size_t)snprintf(s->sock_path, sizeof(s->sock_path), "%s/%s", s->sd.path,
			     MA_SESSION_SOCKET) >= sizeof(s->sock_path)) {
		snprintf(err, errlen, "socket path in %s is too long (set TMPDIR to a shorter directory)", s->sd.path);
		return -1;
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (ma_session_dir_bind(&s->sd, s->listen_fd, MA_SESSION_SOCKET, uid, gid, err, errlen) < 0)
		return -1;
	if (listen(s->listen_fd, 64) < 0) {   /* --follow-fork: children connect at once */
		snprintf(err, errlen, "cannot listen on %s: %s", s->sock_path, strerror(errno));
		return -1;
	}
	return 0;
}

int ma_session_listen(struct ma_session *s, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	session_init(s);
	if (ma_session_dir_create(&s->sd, err, errlen) < 0)
		return -1;
	return listen_in_dir(s, uid, gid, err, errlen);
}

int ma_session_listen_for(struct ma_session *s, pid_t pid, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (ma_session_listen(s, uid, gid, err, errlen) < 0)
		return -1;
	if (ma_session_dir_visible_to(&s->sd, pid))
		return 0;
	/* Another root (a container): our directory is not part of it. */
	ma_session_cleanup(s);
	return ma_session_listen_in_root(s, pid, uid, gid, err, errlen);
}

int ma_session_listen_in_root(struct ma_session *s, pid_t pid, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	session_init(s);
	int r = ma_session_dir_create_in_root(&s->sd, pid, uid, err, errlen);
	if (r < 0)
		return r;
	s->in_target_root = 1;
	return listen_in_dir(s, uid, gid, err, errlen);
}

void ma_session_remove_dir(struct ma_session *s)
{
	ma_session_dir_remove(&s->sd);
}

int ma_session_open_output(struct ma_session *s, const char *path, char *err, size_t errlen)
{
	snprintf(s->out_path, sizeof(s->out_path), "%s", path);
	s->writer = ma_capture_writer_open(path, err, errlen);
	ma_symbol_plan_free(s->plan);
	s->plan = s->writer ? ma_symbol_plan_new() : NULL;
	return s->writer ? 0 : -1;
}

int ma_session_accept(struct ma_session *s, pid_t expect_pid, int timeout_ms, char *err, size_t errlen)
{
	struct pollfd pf = {s->listen_fd, POLLIN, 0};
	int r = poll(&pf, 1, timeout_ms);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0)
		return r < 0 ? -1 : 0;
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return 0;
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
	    (expect_pid && cr.pid != expect_pid)) {
		/* Somebody else: not our agent.  Keep waiting for ours. */
		close(fd);
		if (expect_pid && cl == sizeof(cr))
			fprintf(stderr, "memattach: refused a connection from pid %d (expected %d)\n",
				(int)cr.pid, (int)expect_pid);
		return 0;
	}
	/* The agent is there: the capture replaces what had its name now, so
	 * that a killed memattach leaves it readable under that name. */
	if (s->writer && ma_capture_writer_publish(s->writer) < 0) {
		snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
		fprintf(stderr, "memattach: %s\n", err);
		close(fd);
		return -1;
	}
	s->conn_fd = fd;
	s->peer_pid = cr.pid;
	if (!s->ids)
		s->ids = ma_target_ids_new(cr.pid);   /* NULL: our own pid namespace */
	return 1;
}

/* A target in a root not ours: where that root is, recorded before its
 * Header (so that a capture whose writer is killed has it) for symbols
 * read at report time. */
static void note_root(struct ma_session *s)
{
	struct ma_target_root r;
	if (s->root_noted || (!s->writer && !s->on_record))
		return;
	s->root_noted = 1;
	if (ma_target_root_describe(s->peer_pid, &r) == 1)
		ma_target_root_write(&r, s->writer, s->on_record, s->on_record_ctx);
}

/* Looks into a record without unpacking it: which oneof field it holds,
 * and for event batches how many events (one byte per kind, kinds < 128).
 * -1 with why set when what it decodes is outside record_limits.h. */
static int peek_record(struct ma_session *s, const uint8_t *p, size_t len, char *why, size_t wlen)
{
	const uint8_t *end = p + len, *rec = p;
	uint64_t tag, l;
	int k = ma_varint_get(p, end, &tag);
	if (k <= 0 || (tag & 7) != 2)
		return 0;
	p += k;
	k = ma_varint_get(p, end, &l);
	if (k <= 0 || l > (uint64_t)(end - p))
		return 0;
	p += k;
	switch (tag >> 3) {
	case MEMATTACH__RECORD__R_HEADER:
		s->got_header = 1;
		note_root(s);
		break;
	case MEMATTACH__RECORD__R_IDENTITY:
		ma_peer_identity_parse(rec, len, &s->ident);
		break;
	case MEMATTACH__RECORD__R_THREAD:
		/* a new thread: its id here, before the agent's record of it */
		if (s->ids && (s->writer || s->on_record)) {
			ma_target_ids_scan(s->ids);
			ma_target_ids_write(s->ids, s->writer, s->on_record, s->on_record_ctx);
		}
		break;
	case MEMATTACH__RECORD__R_AGENT_TRAILER: {
		Memattach__AgentTrailer *t = memattach__agent_trailer__unpack(NULL, l, p);
		s->got_trailer = 1;
		if (t) {
			s->trailer_reason = t->reason;
			memattach__agent_trailer__free_unpacked(t, NULL);
		}
		break;
	}
	case MEMATTACH__RECORD__R_MODULE: {
		/* symbols: open the modules stacks use while the capture runs */
		Memattach__Module *m = memattach__module__unpack(NULL, l, p);
		int bad = m && ma_module_check(m, why, wlen) < 0;
		if (m && !bad && ma_symbolize_prewarm_start(s->root_prefix) == 0)
			ma_symbolize_prewarm_module(m);
		if (m && !bad)
			ma_symbol_plan_module(s->plan, m);
		if (m)
			memattach__module__free_unpacked(m, NULL);
		if (bad)
			return -1;
		break;
	}
	case MEMATTACH__RECORD__R_STACK: {
		Memattach__Stack *st = memattach__stack__unpack(NULL, l, p);
		int bad = st && ma_stack_check(st, why, wlen) < 0;
		if (st && !bad) {
			ma_symbolize_prewarm_stack(st);
			ma_symbol_plan_stack(s->plan, st);
		}
		if (st)
			memattach__stack__free_unpacked(st, NULL);
		if (bad)
			return -1;
		break;
	}
	case MEMATTACH__RECORD__R_MODULE_UNLOAD: {
		Memattach__ModuleUnload *u = s->plan ? memattach__module_unload__unpack(NULL, l, p) : NULL;
		if (u) {
			ma_symbol_plan_unload(s->plan, u->load_address);
			memattach__module_unload__free_unpacked(u, NULL);
		}
		break;
	}
	case MEMATTACH__RECORD__R_EVENTS: {
		const uint8_t *q = p, *qe = p + l;
		while (q < qe) {
			uint64_t t, fl;
			if ((k = ma_varint_get(q, qe, &t)) <= 0)
				return 0;
			q += k;
			if ((t & 7) == 0) {
				if ((k = ma_varint_get(q, qe, &fl)) <= 0)
					return 0;
				q += k;
				continue;
			}
			if ((t & 7) != 2 || (k = ma_varint_get(q, qe, &fl)) <= 0 ||
			    fl > (uint64_t)(qe - q - k))
				return 0;
			q += k;
			if ((t >> 3) == 6 && fl > MA_MAX_BATCH_EVENTS) {
				snprintf(why, wlen, "an EventBatch of %llu events (limit %u)",
					 (unsigned long long)fl, MA_MAX_BATCH_EVENTS);
				return -1;
			}
			if ((t >> 3) == 6)
				s->events += fl;
			q += fl;
		}
		break;
	}
	case MEMATTACH__RECORD__R_WARNING: {
		/* The agent never writes to the target's stderr: its warnings
		 * come here, for the user's. */
		Memattach__Warning *w = memattach__warning__unpack(NULL, l, p);
		if (w) {
			ma_print_agent_warning(stderr, w->text);
			s->warnings++;
			memattach__warning__free_unpacked(w, NULL);
		}
		break;
	}
	case MEMATTACH__RECORD__R_TICK: {
		Memattach__Tick *t = memattach__tick__unpack(NULL, l, p);
		if (t) {
			s->last_rss = t->rss_bytes;
			s->last_time_ns = t->time_ns;
			s->forks = t->forks;
			memattach__tick__free_unpacked(t, NULL);
		}
		break;
	}
	}
	return 0;
}

int ma_session_pump(struct ma_session *s, int timeout_ms, char *err, size_t errlen)
{
	if (s->conn_fd < 0 || s->eof)
		return 0;
	struct pollfd pf = {s->conn_fd, POLLIN, 0};
	int r = poll(&pf, 1, timeout_ms);
	if (r < 0 && errno != EINTR) {
		snprintf(err, errlen, "poll: %s", strerror(errno));
		return -1;
	}
	if (r <= 0)
		return 1;
	if (s->buf_cap - s->buf_len < (1u << 16)) {
		size_t cap = s->buf_cap ? s->buf_cap * 2 : (1u << 20);
		uint8_t *b = realloc(s->buf, cap);
		if (!b) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		s->buf = b;
		s->buf_cap = cap;
	}
	ssize_t n = read(s->conn_fd, s->buf + s->buf_len, s->buf_cap - s->buf_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0) {
		s->eof = 1;
		return 0;
	}
	s->buf_len += (size_t)n;
	s->bytes_in += (uint64_t)n;
	/* Only whole records go to the file, so that an agent dying mid-write
	 * leaves a capture that reads cleanly up to its last record. */
	size_t off = 0;
	for (;;) {
		uint64_t len;
		int k = ma_varint_get(s->buf + off, s->buf + s->buf_len, &len);
		char why[160];
		if (k < 0)
			snprintf(why, sizeof why, "a malformed record length");
		else if (len > MA_MAX_RECORD_SIZE)
			snprintf(why, sizeof why, "a record of %llu bytes (limit %u)",
				 (unsigned long long)len, MA_MAX_RECORD_SIZE);
		if (k < 0 || len > MA_MAX_RECORD_SIZE ||
		    (k > 0 && s->buf_len - off >= (size_t)k + len &&
		     peek_record(s, s->buf + off + k, (size_t)len, why, sizeof why) < 0)) {
			snprintf(err, errlen,
				 "the agent sent %s at byte %llu of the stream (not memattach's agent, or a hostile one): the capture ends there",
				 why, (unsigned long long)(s->bytes_in - (s->buf_len - off)));
			return -1;
		}
		if (k == 0 || s->buf_len - off < (size_t)k + len)
			break;
		if (s->on_record && s->on_record(s->on_record_ctx, s->buf + off + k, (size_t)len)) {
			snprintf(err, errlen, "cannot process the agent's stream (a record outside the limits, or out of memory)");
			return -1;
		}
		off += (size_t)k + (size_t)len;
	}
	if (off) {
		if (s->writer && ma_capture_writer_write(s->writer, s->buf, off) < 0) {
			snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
			s->write_failed = 1;
			return -1;
		}
		memmove(s->buf, s->buf + off, s->buf_len - off);
		s->buf_len -= off;
	}
	uint64_t now = ma_monotonic_ns();
	if (s->writer && now - s->last_flush_ns > FLUSH_EVERY_NS) {
		s->last_flush_ns = now;
		if (ma_capture_writer_flush(s->writer) < 0) {
			snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
			s->write_failed = 1;
			return -1;
		}
	}
	return 1;
}

int ma_session_restart(struct ma_session *s, char *err, size_t errlen)
{
	if (s->writer && ma_capture_writer_restart(s->writer) < 0) {
		snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
		return -1;
	}
	ma_symbolize_prewarm_end();   /* the modules of the program before */
	ma_symbol_plan_free(s->plan);   /* and what it would have symbolized */
	s->plan = s->writer ? ma_symbol_plan_new() : NULL;
	s->buf_len = 0;
	s->bytes_in = s->events = s->last_rss = s->last_time_ns = s->warnings = 0;
	s->got_header = s->got_trailer = s->eof = s->write_failed = s->trailer_reason = 0;
	s->root_noted = 0;   /* the file starts over */
	memset(&s->ident, 0, sizeof(s->ident));   /* the new program sends it */
	return 0;
}

int ma_session_send_stop(struct ma_session *s)
{
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	Memattach__Control c = MEMATTACH__CONTROL__INIT;
	uint8_t buf[64];
	c.op = MEMATTACH__CONTROL__OP__STOP;
	rec.r_case = MEMATTACH__RECORD__R_CONTROL;
	rec.control = &c;
	size_t n = ma_record_pack_framed(&rec, buf);
	if (s->conn_fd < 0)
		return -1;
	return send(s->conn_fd, buf, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Symbols now, while the target's binaries are at hand.  Without them
 * the capture is still whole: a warning, not an error. */
static void write_symbols(struct ma_session *s)
{
	char serr[512], data[64];
	int r;
	if (s->plan) {
		r = ma_symbolize_planned(s->plan, s->writer, s->root_prefix, serr, sizeof serr);
		s->plan = NULL;
	} else {   /* no plan (out of memory): the capture read back */
		ma_capture_writer_data_path(s->writer, data, sizeof data);
		if (ma_capture_writer_flush(s->writer) < 0)
			return;
		r = ma_symbolize_capture(data, s->writer, s->root_prefix, serr, sizeof serr);
	}
	if (r < 0)
		fprintf(stderr, "memattach: warning: the capture has no symbols: %s\n", serr);
}

int ma_session_finish(struct ma_session *s, const char *note, char *err, size_t errlen)
{
	int r = 0;
	if (errlen)
		err[0] = 0;
	if (s->writer && s->write_failed) {
		/* The pump's write error was said; what reached the file reads
		 * up to its last whole record.  Nothing more can be added. */
		ma_capture_writer_close(s->writer);
		s->writer = NULL;
	}
	if (s->writer && s->ids) {
		ma_target_ids_scan(s->ids);
		ma_target_ids_write(s->ids, s->writer, NULL, NULL);
	}
	if (s->writer && s->got_header)
		write_symbols(s);
	if (s->writer) {
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		Memattach__CaptureTrailer t = MEMATTACH__CAPTURE_TRAILER__INIT;
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		t.complete = s->got_trailer;
		t.note = (char *)(note ? note : "");
		t.end_realtime_ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
		rec.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
		rec.capture_trailer = &t;
		int wr = ma_capture_writer_write_record(s->writer, &rec);
		if (wr < 0)
			snprintf(err, errlen, "%s", ma_capture_writer_error(s->writer));
		/* close in any case: it frees the writer and its descriptor */
		if (ma_capture_writer_close(s->writer) < 0 && wr >= 0)
			snprintf(err, errlen, "%s", ma_capture_writer_error(NULL));
		if (wr < 0 || err[0])
			r = -1;
		s->writer = NULL;
	}
	ma_session_cleanup(s);
	return r;
}

void ma_session_abandon(struct ma_session *s)
{
	ma_capture_writer_abandon(s->writer);
	s->writer = NULL;
	ma_session_cleanup(s);
}

void ma_session_cleanup(struct ma_session *s)
{
	ma_symbolize_prewarm_end();
	ma_symbol_plan_free(s->plan);
	s->plan = NULL;
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->conn_fd = s->listen_fd = -1;
	ma_session_dir_remove(&s->sd);
	ma_target_ids_free(s->ids);
	s->ids = NULL;
	free(s->buf);
	s->buf = NULL;
	s->buf_len = s->buf_cap = 0;
}

static int readable(const char *p)
{
	return access(p, R_OK) == 0;
}

const char *ma_find_agent(char *buf, size_t len)
{
	const char *env = getenv("MEMATTACH_AGENT");
	char exe[PATH_MAX];
	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return readable(buf) ? buf : NULL;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *d = dirname(exe);
		/* run from the build tree */
		snprintf(buf, len, "%s/agent/.libs/libmemattach-agent.so", d);
		if (readable(buf))
			return buf;
		snprintf(buf, len, "%s/../agent/.libs/libmemattach-agent.so", d);
		if (readable(buf))
			return buf;
	}
	snprintf(buf, len, "%s/libmemattach-agent.so", PKGLIBDIR);
	return readable(buf) ? buf : NULL;
}

void ma_default_output(char *buf, size_t len, const char *comm, pid_t pid)
{
	char ts[32], clean[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%S", &tm);
	size_t j = 0;
	for (size_t i = 0; comm[i] && j < sizeof(clean) - 1; i++)
		clean[j++] = (comm[i] == '/' || comm[i] == ' ') ? '_' : comm[i];
	clean[j] = 0;
	snprintf(buf, len, "memattach-%s-%d-%s.memcap", clean, (int)pid, ts);
}

int ma_agent_opt(int c, const char *arg, struct ma_agent_opts *o)
{
	char err[256];
	uint64_t v;
	switch (c) {
	case 'P':
		o->pyalloc = 1;
		return 1;
	case 'N':
		o->pynative = 1;
		return 1;
	case 'd':
		if (ma_parse_uint_range(arg, 1, 256, "--native-depth", &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: %s\n", err);
			return -1;
		}
		o->depth = (unsigned)v;
		return 1;
	case MA_OPT_STALL_LIMIT:
		if (ma_parse_duration(arg, &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: --stall-limit: %s\n", err);
			return -1;
		}
		if (v < 1000 || v > 3600000000000ull) {
			fprintf(stderr, "memattach: --stall-limit: '%s' is out of range; give a time from 1us to 1h (e.g. 100ms)\n", arg);
			return -1;
		}
		o->stall_ns = v;
		return 1;
	case MA_OPT_SAMPLE:
		if (ma_parse_size(arg, &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: --sample: %s\n", err);
			return -1;
		}
		if (v < 1 || v > MA_SAMPLE_MAX) {
			fprintf(stderr, "memattach: --sample: '%s' is out of range; give a size from 1B to 1GiB (e.g. 512KiB)\n", arg);
			return -1;
		}
		o->sample = v;
		return 1;
	case MA_OPT_ON_STALL:
		if (strcmp(arg, "drop") && strcmp(arg, "end")) {
			fprintf(stderr, "memattach: --on-stall: '%s' is neither drop nor end\n", arg);
			return -1;
		}
		o->stall_end = !strcmp(arg, "end");
		return 1;
	default:
		return 0;
	}
}

/* --stall-limit, else $MEMATTACH_STALL_LIMIT (the test suite sets it: its
 * exact tests need every event on a loaded machine), else 100 ms. */
static uint64_t stall_limit(const struct ma_agent_opts *o)
{
	const char *env = getenv("MEMATTACH_STALL_LIMIT");
	char err[256];
	uint64_t v;
	if (o->stall_ns)
		return o->stall_ns;
	if (!env || !*env)
		return MA_STALL_LIMIT_DEFAULT_NS;
	if (ma_parse_duration(env, &v, err, sizeof(err)) < 0 || v < 1000 || v > 3600000000000ull) {
		fprintf(stderr, "memattach: warning: MEMATTACH_STALL_LIMIT='%s' is not a time from 1us to 1h; using 100ms\n", env);
		return MA_STALL_LIMIT_DEFAULT_NS;
	}
	return v;
}

/* --sample: the interval, and the samplers' seed from $MEMATTACH_SAMPLE_SEED
 * (a reproducible run), else the agent picks one (Header.sample_seed). */
static void sample_config(char *buf, size_t len, const struct ma_agent_opts *o)
{
	const char *seed = getenv("MEMATTACH_SAMPLE_SEED");
	unsigned long long s = seed && *seed ? strtoull(seed, NULL, 0) : 0;
	buf[0] = 0;
	if (o->sample && s)
		snprintf(buf, len, ";sample=%llu;seed=%llu", (unsigned long long)o->sample, s);
	else if (o->sample)
		snprintf(buf, len, ";sample=%llu", (unsigned long long)o->sample);
}

void ma_agent_config(char *buf, size_t len, const char *sock_path,
		     const struct ma_agent_opts *o, int attached)
{
	char smp[64];
	sample_config(smp, sizeof(smp), o);
	snprintf(buf, len, "socket=%s;depth=%u%s%s%s;stall_us=%llu;onstall=%s%s", sock_path, o->depth,
		 attached ? ";attached=1" : "", o->pyalloc ? ";pyalloc=1" : "",
		 o->pynative ? ";pynative=1" : "", (unsigned long long)(stall_limit(o) / 1000),
		 o->stall_end ? "end" : "drop", smp);
}

/* synth.c — see synth.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/capture/capture_file.h"
#include "record_io.h"
#include "synth.h"

#define MAX_THREADS 64

typedef struct tbuf {
	uint32_t tid;
	size_t n, cap;
	uint64_t *seq, *time, *addr, *size;
	uint32_t *kind, *stack;
} tbuf;

struct synth {
	ma_capture_writer *w;
	uint64_t seq, time;
	tbuf t[MAX_THREADS];
	size_t nt;
};

static void die(const char *what)
{
	fprintf(stderr, "synth: %s\n", what);
	abort();
}

synth *synth_open(const char *path)
{
	char err[512];
	synth *s = calloc(1, sizeof *s);
	if (!s)
		die("out of memory");
	s->w = ma_capture_writer_open(path, err, sizeof err);
	if (!s->w)
		die(err);
	return s;
}

void synth_record(synth *s, const Memattach__Record *r)
{
	if (ma_capture_writer_write_record(s->w, r) < 0)
		die(ma_capture_writer_error(s->w));
}

void synth_header(synth *s, uint64_t first_seq)
{
	Memattach__Header h = MEMATTACH__HEADER__INIT;
	h.format_major = MA_FORMAT_MAJOR;
	h.format_minor = MA_FORMAT_MINOR;
	h.pid = 4242;
	h.command_line = "synth --test";
	h.comm = "synth";
	h.executable = "/usr/bin/synth";
	h.native_depth = 64;
	h.page_size = 4096;
	h.first_seq = first_seq;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_HEADER;
	r.header = &h;
	synth_record(s, &r);
	s->seq = first_seq;
}

void synth_stack(synth *s, uint32_t id, size_t n, const uint64_t *frames)
{
	Memattach__Stack st = MEMATTACH__STACK__INIT;
	st.id = id;
	st.n_frames = n;
	st.frames = (uint64_t *)frames;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_STACK;
	r.stack = &st;
	synth_record(s, &r);
}

void synth_symbol(synth *s, uint64_t address, const char *function)
{
	Memattach__Symbol sy = MEMATTACH__SYMBOL__INIT;
	sy.address = address;
	sy.function = (char *)function;
	sy.module = "/usr/bin/synth";
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_SYMBOL;
	r.symbol = &sy;
	synth_record(s, &r);
}

void synth_thread(synth *s, uint32_t tid, const char *name)
{
	Memattach__ThreadInfo t = MEMATTACH__THREAD_INFO__INIT;
	t.tid = tid;
	t.name = (char *)name;
	t.seq = s->seq;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_THREAD;
	r.thread = &t;
	synth_record(s, &r);
}

static tbuf *thread(synth *s, uint32_t tid)
{
	for (size_t i = 0; i < s->nt; i++)
		if (s->t[i].tid == tid)
			return &s->t[i];
	if (s->nt == MAX_THREADS)
		die("too many threads");
	tbuf *t = &s->t[s->nt++];
	t->tid = tid;
	return t;
}

uint64_t synth_event(synth *s, uint32_t tid, uint32_t kind, uint64_t addr,
		     uint64_t size, uint32_t stack)
{
	tbuf *t = thread(s, tid);
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->seq = realloc(t->seq, t->cap * sizeof *t->seq);
		t->time = realloc(t->time, t->cap * sizeof *t->time);
		t->addr = realloc(t->addr, t->cap * sizeof *t->addr);
		t->size = realloc(t->size, t->cap * sizeof *t->size);
		t->kind = realloc(t->kind, t->cap * sizeof *t->kind);
		t->stack = realloc(t->stack, t->cap * sizeof *t->stack);
		if (!t->seq || !t->time || !t->addr || !t->size || !t->kind || !t->stack)
			die("out of memory");
	}
	s->time += 1000;
	t->seq[t->n] = s->seq;
	t->time[t->n] = s->time;
	t->addr[t->n] = addr;
	t->size[t->n] = size;
	t->kind[t->n] = kind;
	t->stack[t->n] = stack;
	t->n++;
	return s->seq++;
}

uint64_t synth_skip_seq(synth *s)
{
	return s->seq++;
}

uint64_t synth_next_seq(const synth *s)
{
	return s->seq;
}

void synth_batch(synth *s, uint32_t tid, size_t n, const uint64_t *seq,
		 const uint64_t *time, const uint64_t *addr, const uint64_t *size,
		 const uint32_t *kind, const uint32_t *stack)
{
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	uint64_t *sd = malloc(n * sizeof *sd), *td = malloc(n * sizeof *td);
	int64_t *ad = malloc(n * sizeof *ad);
	if (n && (!sd || !td || !ad))
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		sd[i] = i ? seq[i] - seq[i - 1] : seq[0];
		td[i] = i ? time[i] - time[i - 1] : time[0];
		ad[i] = (int64_t)(i ? addr[i] - addr[i - 1] : addr[0]);
	}
	b.tid = tid;
	b.n_seq_delta = b.n_time_delta = b.n_addr_delta = b.n_size = b.n_kind = b.n_stack = n;
	b.seq_delta = sd;
	b.time_delta = td;
	b.addr_delta = ad;
	b.size = (uint64_t *)size;
	b.kind = (uint32_t *)kind;
	b.stack = (uint32_t *)stack;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_EVENTS;
	r.events = &b;
	synth_record(s, &r);
	free(sd);
	free(td);
	free(ad);
}

void synth_flush_thread(synth *s, uint32_t tid)
{
	tbuf *t = thread(s, tid);
	if (!t->n)
		return;
	synth_batch(s, tid, t->n, t->seq, t->time, t->addr, t->size, t->kind, t->stack);
	t->n = 0;
}

static void flush_all(synth *s)
{
	for (size_t i = 0; i < s->nt; i++)
		synth_flush_thread(s, s->t[i].tid);
}

void synth_tick(synth *s, uint64_t rss_bytes)
{
	flush_all(s);
	Memattach__Tick tk = MEMATTACH__TICK__INIT;
	tk.watermark = s->seq;
	tk.time_ns = s->time;
	tk.rss_bytes = rss_bytes;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_TICK;
	r.tick = &tk;
	synth_record(s, &r);
}

void synth_finish(synth *s, int complete)
{
	flush_all(s);
	Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
	at.reason = MEMATTACH__STOP_REASON__STOP_REQUESTED;
	at.watermark = s->seq;
	at.time_ns = s->time;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	if (complete) {
		r.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
		r.agent_trailer = &at;
		synth_record(s, &r);
	}
	Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
	ct.complete = complete;
	ct.note = complete ? "" : "agent disconnected";
	r.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
	r.capture_trailer = &ct;
	synth_record(s, &r);
}

void synth_flush_file(synth *s)
{
	if (ma_capture_writer_flush(s->w) < 0)
		die(ma_capture_writer_error(s->w));
}

void synth_close(synth *s)
{
	if (ma_capture_writer_close(s->w) < 0)
		die(ma_capture_writer_error(NULL));
	for (size_t i = 0; i < s->nt; i++) {
		tbuf *t = &s->t[i];
		free(t->seq);
		free(t->time);
		free(t->addr);
		free(t->size);
		free(t->kind);
		free(t->stack);
	}
	free(s);
}

uint8_t *synth_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("cannot open file to slurp");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		die("cannot read file to slurp");
	fclose(f);
	*len = (size_t)n;
	return b;
}

void synth_spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die("cannot write file");
}

char *synth_tmpname(const char *tag)
{
	const char *dir = getenv("TMPDIR");
	static unsigned counter;
	char *p = malloc(4096);
	if (!p)
		die("out of memory");
	snprintf(p, 4096, "%s/ma-unit-%s-%d-%u.cap", dir && *dir ? dir : "/tmp", tag,
		 (int)getpid(), counter++);
	return p;
}

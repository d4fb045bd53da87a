/* replay_pipe.c — the replay overlapped on two cores.  A reader thread
 * decompresses, decodes and orders the events (ma_replay_read_all) and
 * passes them, with the other records in their places, through a few
 * bounded chunks to the caller's thread, which runs the callbacks in
 * exactly the order a one-thread replay would (so reports are the same
 * byte for byte).  Reading and ordering took about half of a report's
 * time, applying the events the other half.
 * MEMATTACH_REPLAY_THREADS=1 turns it off (one thread, as before). */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/analysis/replay_pipe.h"

#define CHUNK_EVENTS 512        /* 24 KiB a chunk */
#define NCHUNKS 48              /* 1.1 MiB in all */
/* A sleeping applier is woken only when it has most of the chunks to
 * work on, not one or two (at 3 chunks of 2048 events there were 55k
 * futex sleeps in a 100M-event replay, 13-15k now).  The reader, the
 * slower side on average but bursty (a zstd frame is about 15k events, 32
 * chunks were 16k), still filled the pipe: woken only when half was free,
 * it and the applier took turns (330 sleeps each at 10M events).  So 48
 * chunks, and a reader sleeping on a full pipe is woken when a quarter is
 * free.  10M events, 21 interleaved rounds: 0.50 -> 0.44 s (faster in
 * every round; 32 chunks woken at a quarter: 0.46 s), 18.7 -> 19.1 MB. */
#define WAKE_APPLIER (NCHUNKS - 4)      /* when this many are full */
#define WAKE_READER (NCHUNKS * 3 / 4)   /* when only this many are */
#define CHUNK_RECORDS 1024      /* records held in a chunk before it goes */
#define RUN 256                 /* events per ops->events call, as replay.c */

typedef struct held {
	Memattach__Record *rec;
	size_t at;              /* events of the chunk before it */
} held;

typedef struct chunk {
	ma_event ev[CHUNK_EVENTS];
	size_t nev;
	held *recs;
	size_t nrecs, cap_recs;
	int last;               /* the reader is done after this one */
} chunk;

typedef struct pipe_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	chunk *c;               /* NCHUNKS */
	unsigned head, tail, full;  /* filled by the reader at head, applied at tail */
	int reader_waits, applier_waits;   /* a wake-up is owed only to a sleeper */
	chunk *cur;             /* the reader's */
	ma_replayer *p;         /* the reader's: releases straight into cur */
	int nomem;
	ma_capture_reader *r;
	ma_replay_result *res;
	int rc;
	char err[600];
} pipe_state;

/* The replayer releases events into the current chunk's free end: no
 * copy through its own buffer. */
static void aim(pipe_state *s)
{
	if (s->p)
		ma_replayer_run_into(s->p, s->cur->ev + s->cur->nev, CHUNK_EVENTS - s->cur->nev);
}

/* Reader: the current chunk goes to the applier; waits for a free one. */
static void send_chunk(pipe_state *s, int last)
{
	s->cur->last = last;
	pthread_mutex_lock(&s->mu);
	s->full++;
	s->head = (s->head + 1) % NCHUNKS;
	if (s->applier_waits && (s->full >= WAKE_APPLIER || last))
		pthread_cond_broadcast(&s->cv);
	while (!last && s->full == NCHUNKS) {
		s->reader_waits = 1;
		pthread_cond_wait(&s->cv, &s->mu);
		s->reader_waits = 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (last)
		return;         /* the chunk at head may still be applied */
	s->cur = &s->c[s->head];
	s->cur->nev = s->cur->nrecs = 0;
	aim(s);
}

static void on_events(void *ctx, const ma_event *e, size_t n)
{
	pipe_state *s = ctx;
	if (e == s->cur->ev + s->cur->nev) {
		/* Released in place (aim). */
		s->cur->nev += n;
		if (s->cur->nev == CHUNK_EVENTS)
			send_chunk(s, 0);
		else
			aim(s);
		return;
	}
	while (n) {
		size_t k = CHUNK_EVENTS - s->cur->nev;
		if (k > n)
			k = n;
		memcpy(&s->cur->ev[s->cur->nev], e, k * sizeof *e);
		s->cur->nev += k;
		e += k;
		n -= k;
		if (s->cur->nev == CHUNK_EVENTS)
			send_chunk(s, 0);
	}
	aim(s);
}

static void keep(void *ctx, Memattach__Record *rec)
{
	pipe_state *s = ctx;
	chunk *c = s->cur;
	if (c->nrecs == c->cap_recs) {
		size_t cap = c->cap_recs ? 2 * c->cap_recs : 64;
		held *h = realloc(c->recs, cap * sizeof *h);
		if (!h) {
			s->nomem = 1;   /* the record is lost: the run ends in an error */
			ma_capture_record_free(rec);
			return;
		}
		c->recs = h;
		c->cap_recs = cap;
	}
	c->recs[c->nrecs++] = (held){ rec, c->nev };
	if (c->nrecs >= CHUNK_RECORDS)
		send_chunk(s, 0);
}

static const ma_replay_ops pipe_ops = { .events = on_events };

static void *reader_main(void *arg)
{
	pipe_state *s = arg;
	ma_replayer *p = ma_replayer_new(&pipe_ops, s, s->res);
	s->p = p;
	aim(s);
	if (!p) {
		s->rc = MA_ERR_NOMEM;
		snprintf(s->err, sizeof s->err, "out of memory");
	} else {
		s->rc = ma_replay_read_all(s->r, p, keep, s, s->err, sizeof s->err);
		ma_replayer_free(p);
		s->p = NULL;
	}
	if (s->rc == 0 && s->nomem) {
		s->rc = MA_ERR_NOMEM;
		snprintf(s->err, sizeof s->err, "out of memory ordering events");
	}
	send_chunk(s, 1);
	return NULL;
}

static void apply_events(const ma_replay_ops *ops, void *ctx, const ma_event *e, size_t n)
{
	if (ops->events) {
		for (size_t i = 0; i < n; i += RUN)
			ops->events(ctx, e + i, n - i < RUN ? n - i : RUN);
	} else if (ops->event) {
		for (size_t i = 0; i < n; i++)
			ops->event(ctx, &e[i]);
	}
}

/* Applier: the chunk's events and records in their order. */
static void apply_chunk(const ma_replay_ops *ops, void *ctx, chunk *c)
{
	size_t pos = 0;
	for (size_t i = 0; i < c->nrecs; i++) {
		apply_events(ops, ctx, c->ev + pos, c->recs[i].at - pos);
		pos = c->recs[i].at;
		ma_replay_dispatch(ops, ctx, c->recs[i].rec);
		ma_capture_record_free(c->recs[i].rec);
	}
	apply_events(ops, ctx, c->ev + pos, c->nev - pos);
}

static int pipe_wanted(void)
{
	const char *t = getenv("MEMATTACH_REPLAY_THREADS");
	if (t && !strcmp(t, "1"))
		return 0;
	cpu_set_t set;
	return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 1;
}

int ma_replay_piped(ma_capture_reader *r, const ma_replay_ops *ops, void *ctx,
		    ma_replay_result *res, char *err, size_t errlen, int *started)
{
	if (!pipe_wanted())
		return MA_REPLAY_NO_PIPE;
	pipe_state *s = calloc(1, sizeof *s);
	chunk *c = calloc(NCHUNKS, sizeof *c);
	if (!s || !c) {
		free(s);
		free(c);
		return MA_REPLAY_NO_PIPE;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->c = c;
	s->cur = &c[0];
	s->r = r;
	s->res = res;
	memset(res, 0, sizeof *res);
	/* One malloc arena: a second one kept the reader's freed buffers
	 * resident beside the main one's (+2 MB for a flame graph). */
	mallopt(M_ARENA_MAX, 1);
	pthread_t th;
	int rc = MA_REPLAY_NO_PIPE;
	if (pthread_create(&th, NULL, reader_main, s) == 0) {
		*started = 1;
		for (int last = 0; !last;) {
			pthread_mutex_lock(&s->mu);
			while (!s->full) {
				s->applier_waits = 1;
				pthread_cond_wait(&s->cv, &s->mu);
				s->applier_waits = 0;
			}
			chunk *t = &c[s->tail];
			pthread_mutex_unlock(&s->mu);
			apply_chunk(ops, ctx, t);
			last = t->last;
			pthread_mutex_lock(&s->mu);
			s->full--;
			s->tail = (s->tail + 1) % NCHUNKS;
			if (s->reader_waits && s->full <= WAKE_READER)
				pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
		}
		pthread_join(th, NULL);
		rc = s->rc;
		if (rc)
			snprintf(err, errlen, "%s", s->err);
	}
	for (int i = 0; i < NCHUNKS; i++)
		free(c[i].recs);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(c);
	free(s);
	return rc;
}

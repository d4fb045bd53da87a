/* monitor.c — see monitor.h.  The stream is followed (follow.c): memory
 * is the live table and per-stack totals, disk only the snapshots kept.
 * A periodic snapshot waits for a Tick of the agent whose cycle began
 * after it was due (ma_follow_covers): it holds everything the target did
 * before that moment.  The next is due one interval later, or when the
 * previous one is written if that took longer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cmd/follow.h"
#include "cli/cmd/monitor.h"
#include "cli/report/report.h"
#include "cli/util/exit_codes.h"

struct monitor {
	const struct ma_monitor_opts *o;
	struct ma_follow fo;
	uint64_t due;                 /* next periodic snapshot (CLOCK_MONOTONIC) */
	unsigned periodic, dumps;     /* written so far */
	uint64_t last_heap;           /* at the previous snapshot */
	uint64_t next_line;           /* the next threshold dump's line */
	int dump_pending;
	uint64_t dump_value;
	char **kept;                  /* the periodic snapshots kept, oldest first */
	unsigned nkept;
	int failed;
};

/* At each Tick: has the memory reached the next line? */
static void watch_line(void *ctx, const Memattach__Record *r)
{
	struct monitor *m = ctx;
	if (r->r_case != MEMATTACH__RECORD__R_TICK || !m->o->thr_bytes || m->dump_pending ||
	    m->dumps >= m->o->dump_count)
		return;
	uint64_t v = m->o->on_heap ? m->fo.a->live_bytes : r->tick->rss_bytes;
	if (v >= m->next_line) {
		m->dump_pending = 1;
		m->dump_value = v;
	}
}

/* Keeps the last N periodic snapshots: the oldest of ours goes. */
static void keep_last(struct monitor *m, const char *path)
{
	if (!m->o->keep)
		return;
	char *p = strdup(path);
	if (!p)
		return;
	if (m->nkept == m->o->keep) {
		if (unlink(m->kept[0]) < 0 && errno != ENOENT)
			fprintf(stderr, "memattach: warning: cannot remove %s: %s\n", m->kept[0], strerror(errno));
		free(m->kept[0]);
		memmove(m->kept, m->kept + 1, (m->nkept - 1) * sizeof *m->kept);
		m->nkept--;
	}
	m->kept[m->nkept++] = p;
}

/* --sample: the heap figures are estimates; the lines say so ("~", and
 * the interval at the end). */
static const char *estimate_note(const ma_analysis *a, char *buf, size_t len)
{
	char iv[32];
	if (!a->sample_interval)
		return "";
	snprintf(buf, len, "; estimates from %llu samples (--sample %s)",
		 (unsigned long long)a->sample_count, ma_fmt_bytes(a->sample_interval, iv, sizeof iv));
	return buf;
}

/* One snapshot now and its line on stderr.  why: "every" or "threshold". */
static int dump(struct monitor *m, int periodic)
{
	char path[4096], note[512], err[1024], heap[32], d[32], rss[32], est[96];
	const ma_analysis *a = m->fo.a;
	const char *tilde = a->sample_interval ? "~" : "", *en = estimate_note(a, est, sizeof est);
	unsigned n = m->periodic + m->dumps + 1;
	int64_t growth = (int64_t)(a->live_bytes - m->last_heap);
	ma_snapshot_name(path, sizeof path, m->o->dir, m->o->comm, m->o->pid, n);
	ma_fmt_count(growth < 0 ? (uint64_t)-growth : (uint64_t)growth, d, sizeof d);
	if (periodic)
		snprintf(note, sizeof note,
			 "snapshot %u (every %.6gs) at %.3f s: tracked heap %s%llu bytes, %s%s bytes since the previous snapshot%s",
			 n, (double)m->o->every_ns / 1e9, (double)m->fo.tick_time_ns / 1e9, tilde,
			 (unsigned long long)a->live_bytes, growth < 0 ? "-" : "+", d, en);
	else
		snprintf(note, sizeof note,
			 "snapshot %u at %.3f s: %s reached %llu bytes (dump %u of %u, threshold %s, then every %s more); tracked heap %s%llu bytes, %s%s bytes since the previous snapshot%s",
			 n, (double)m->fo.tick_time_ns / 1e9, m->o->on_heap ? "the tracked heap" : "RSS",
			 (unsigned long long)m->dump_value, m->dumps + 1, m->o->dump_count, m->o->thr_text,
			 m->o->thr_text, tilde, (unsigned long long)a->live_bytes, growth < 0 ? "-" : "+", d, en);
	if (ma_follow_write_snapshot(&m->fo, path, m->o->pid, m->fo.tick_time_ns, m->fo.tick_rss, note, err,
				     sizeof err) < 0) {
		fprintf(stderr, "memattach: cannot write the snapshot %s: %s\n", path, err);
		m->failed = 1;
		return -1;
	}
	if (!m->o->quiet && periodic)
		fprintf(stderr, "memattach: snapshot %u at %.3f s: tracked heap %s%llu B = %s (%s%s B since the previous), RSS %s%s: %s\n",
			n, (double)m->fo.tick_time_ns / 1e9, tilde, (unsigned long long)a->live_bytes,
			ma_fmt_bytes(a->live_bytes, heap, sizeof heap), growth < 0 ? "-" : "+", d,
			ma_fmt_bytes(m->fo.tick_rss, rss, sizeof rss), en, path);
	else if (!m->o->quiet)
		fprintf(stderr, "memattach: snapshot %u at %.3f s (dump %u of %u: %s reached %llu B): tracked heap %s%llu B = %s (%s%s B since the previous), RSS %s%s: %s\n",
			n, (double)m->fo.tick_time_ns / 1e9, m->dumps + 1, m->o->dump_count,
			m->o->on_heap ? "the tracked heap" : "RSS", (unsigned long long)m->dump_value,
			tilde, (unsigned long long)a->live_bytes, ma_fmt_bytes(a->live_bytes, heap, sizeof heap),
			growth < 0 ? "-" : "+", d, ma_fmt_bytes(m->fo.tick_rss, rss, sizeof rss), en, path);
	m->last_heap = a->live_bytes;
	if (periodic) {
		m->periodic++;
		keep_last(m, path);
	} else {
		m->dumps++;
		/* the rule: the next dump when memory is SIZE above this one */
		m->next_line = m->dump_value + m->o->thr_bytes;
		m->dump_pending = 0;
	}
	return 0;
}

/* The capture loop's hook, after each pump. */
static int check(void *ctx)
{
	struct monitor *m = ctx;
	if (m->dump_pending && dump(m, 0) < 0)
		return 1;
	if (m->o->every_ns && ma_follow_covers(&m->fo, m->due)) {
		if (dump(m, 1) < 0)
			return 1;
		uint64_t now = ma_monotonic_ns();
		m->due = m->due + m->o->every_ns > now ? m->due + m->o->every_ns : now;
	}
	/* without --every, the last threshold dump ends the watch */
	return !m->o->every_ns && m->dumps >= m->o->dump_count;
}

int ma_monitor_run(struct ma_capture *c, const struct ma_monitor_opts *o)
{
	static struct monitor m;
	memset(&m, 0, sizeof m);
	m.o = o;
	m.next_line = o->thr_bytes;
	if (ma_follow_init(&m.fo) < 0 || (o->keep && !(m.kept = calloc(o->keep, sizeof *m.kept)))) {
		fprintf(stderr, "memattach: out of memory\n");
		ma_session_send_stop(c->s);
		ma_session_cleanup(c->s);
		return MA_EXIT_ERROR;
	}
	m.fo.after = watch_line;
	m.fo.after_ctx = &m;
	m.due = ma_monotonic_ns() + o->every_ns;
	c->s->on_record = ma_follow_on_record;
	c->s->on_record_ctx = &m.fo;
	c->hook = check;
	c->hook_ctx = &m;
	c->duration_ns = o->duration_ns;
	c->status_line = 0;
	enum ma_capture_end end = ma_capture_follow(c);
	c->s->on_record = NULL;
	if (end == MA_END_ERROR)
		ma_session_send_stop(c->s);
	else if (!c->s->eof)
		ma_capture_stop(c);
	int rc = m.failed ? MA_EXIT_OUTPUT : end == MA_END_STREAM ? MA_EXIT_TARGET_GONE : MA_EXIT_OK;
	if (end == MA_END_STREAM && !o->quiet)
		fprintf(stderr, "memattach: pid %d exited; %u snapshot%s written\n", (int)o->pid,
			m.periodic + m.dumps, m.periodic + m.dumps == 1 ? "" : "s");
	else if (!o->quiet)
		fprintf(stderr, "memattach: detached from pid %d; %u snapshot%s written\n", (int)o->pid,
			m.periodic + m.dumps, m.periodic + m.dumps == 1 ? "" : "s");
	if (end == MA_END_ERROR)
		rc = MA_EXIT_ERROR;
	ma_follow_free(&m.fo);
	for (unsigned i = 0; i < m.nkept; i++)
		free(m.kept[i]);
	free(m.kept);
	ma_session_cleanup(c->s);
	return rc;
}

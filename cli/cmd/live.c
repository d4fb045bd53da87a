/* live.c — `memattach live`: the stream is followed (follow.c) and the
 * live model (cli/live/live_model.c) kept current; every interval the
 * screen is redrawn from it.  A refresh waits for a Tick of the agent
 * whose cycle began after the refresh was due (ma_follow_covers), so
 * what it shows includes everything the target did before that moment.
 * The capture loop calls us after each pump (every 50 ms at most). */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cmd/follow.h"
#include "cli/cmd/live.h"
#include "cli/live/live_model.h"
#include "cli/report/report.h"
#include "cli/symbols/symbolize.h"
#include "cli/util/exit_codes.h"
#include "cli/util/visible.h"

#define CHART_ROWS 4
#define CHART_KEEP 512
#define MAX_ROWS 256
#define TREE_MAX 512

struct view {
	const struct ma_live_opts *o;
	struct ma_capture *c;
	struct ma_follow fo;
	ma_symbolizer *z;
	ma_lv *lv;
	uint64_t due;                  /* the next refresh (CLOCK_MONOTONIC) */
	uint64_t refreshes;
	int paused, help, tree, quit;
	enum ma_lv_sort sort;
	size_t sel;                    /* selected row */
	uint32_t sel_loc;
	size_t thread_i;               /* 0: all threads, else a->threads[thread_i - 1] */
	uint32_t tid;
	/* rates between the last two refreshes */
	uint64_t last_events, last_bytes, last_tick_ns;
	double ev_rate, byte_rate;
	/* heap and RSS at each refresh, for the chart */
	uint64_t heap_hist[CHART_KEEP], rss_hist[CHART_KEEP];
	size_t nhist;
	uint64_t peak_heap;
	char message[4200];             /* the bottom line: snapshots, errors */
	unsigned snapshots;
	uint64_t view_cpu_ns, view_cpu_max_ns;   /* the view's own work per refresh */
	uint32_t view_cpu_us[1024];             /* the last refreshes', for the median */
	ma_lv_row rows[MAX_ROWS];
	size_t nrows;
	ma_lv_node nodes[TREE_MAX];
};

static const char *const sort_names[MA_LV_SORTS] = { "own", "total", "blocks", "growth" };

/* Module records for the symbolizer: names of native frames, live. */
static void after_record(void *ctx, const Memattach__Record *r)
{
	struct view *v = ctx;
	if (r->r_case == MEMATTACH__RECORD__R_MODULE)
		ma_symbolizer_module(v->z, r->module);
	else if (r->r_case == MEMATTACH__RECORD__R_MODULE_UNLOAD)
		ma_symbolizer_unload(v->z, r->module_unload->load_address);
}

static void keep_sample(struct view *v)
{
	if (v->nhist == CHART_KEEP) {
		memmove(v->heap_hist, v->heap_hist + 1, (CHART_KEEP - 1) * sizeof *v->heap_hist);
		memmove(v->rss_hist, v->rss_hist + 1, (CHART_KEEP - 1) * sizeof *v->rss_hist);
		v->nhist--;
	}
	v->heap_hist[v->nhist] = v->fo.a->live_bytes;
	v->rss_hist[v->nhist++] = v->fo.tick_rss;
}

static void measure_rates(struct view *v)
{
	ma_analysis *a = v->fo.a;
	uint64_t ev = a->total_allocations + a->total_frees + a->untracked_frees;
	uint64_t by = a->total_bytes_allocated, t = v->fo.tick_time_ns;
	if (v->last_tick_ns && t > v->last_tick_ns) {
		double dt = (double)(t - v->last_tick_ns) / 1e9;
		v->ev_rate = (double)(ev - v->last_events) / dt;
		v->byte_rate = (double)(by - v->last_bytes) / dt;
	}
	v->last_events = ev;
	v->last_bytes = by;
	v->last_tick_ns = t;
	if (a->live_bytes > v->peak_heap)
		v->peak_heap = a->live_bytes;
}

/* ---- drawing ---- */

/* One line at row y, cut at the screen's width (no wrapping). */
__attribute__((format(printf, 2, 3))) static void put(int y, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	mvaddnstr(y, 0, line, COLS);
	clrtoeol();
}

static void fmt_signed(int64_t d, char *buf, size_t len)
{
	char n[24];
	ma_fmt_count(d < 0 ? (uint64_t)-d : (uint64_t)d, n, sizeof n);
	snprintf(buf, len, "%s%s", d < 0 ? "-" : d > 0 ? "+" : "", n);
}

static const char *loc_text(const ma_loc *l, char *buf, size_t len)
{
	char name[256], where[256], vis[400], visw[400];
	if (!l->function && !l->frame) {
		snprintf(buf, len, "(stack not known yet)");
		return buf;
	}
	ma_loc_name(l, name, sizeof name);
	ma_loc_where(l, where, sizeof where);
	snprintf(buf, len, "%s%s%s", ma_visible(name, vis, sizeof vis), *where ? "  " : "",
		 ma_visible(where, visw, sizeof visw));
	return buf;
}

static const char *thread_text(const struct view *v, char *buf, size_t len)
{
	const ma_analysis *a = v->fo.a;
	char vis[128];
	if (!v->thread_i || v->thread_i > a->nthreads) {
		snprintf(buf, len, "all (%zu)", a->nthreads);
		return buf;
	}
	const ma_thread_stats *t = &a->threads[v->thread_i - 1];
	snprintf(buf, len, "%u %s", t->tid, t->name ? ma_visible(t->name, vis, sizeof vis) : "");
	return buf;
}

static void draw_header(struct view *v)
{
	const ma_analysis *a = v->fo.a;
	char heap[32], peak[32], rss[32], na[32], rate[32], evs[32], exact[32], th[160];
	uint64_t rssb = v->fo.tick_rss, hb = a->live_bytes;
	ma_fmt_bytes(hb, heap, sizeof heap);
	ma_fmt_bytes(v->peak_heap, peak, sizeof peak);
	ma_fmt_bytes(rssb, rss, sizeof rss);
	ma_fmt_bytes(rssb > hb ? rssb - hb : 0, na, sizeof na);
	ma_fmt_bytes((uint64_t)v->byte_rate, rate, sizeof rate);
	ma_fmt_count((uint64_t)v->ev_rate, evs, sizeof evs);
	put(0, "memattach live  pid %d (%s)  elapsed %.1fs  refresh %llu every %.3gs%s", (int)v->o->pid,
		 v->o->comm, (double)v->fo.tick_time_ns / 1e9, (unsigned long long)v->refreshes,
		 (double)v->o->interval_ns / 1e9, v->paused ? "  [paused]" : "");
	if (a->sample_interval)   /* --sample: estimates, and said so */
		put(1, "tracked heap ~%s (~%s B, peak ~%s)  RSS %s  estimated from %llu samples (--sample %s)",
		    heap, ma_fmt_count(hb, exact, sizeof exact), peak, rss,
		    (unsigned long long)a->sample_count, ma_fmt_bytes(a->sample_interval, th, sizeof th));
	else
		put(1, "tracked heap %s (%s B, peak %s)  RSS %s  not attributed %s", heap,
		    ma_fmt_count(hb, exact, sizeof exact), peak, rss, na);
	char vis[256] = "";
	if (v->o->out)
		ma_visible(v->o->out, vis, sizeof vis);
	put(2, "rate %s events/s, %s/s allocated   thread %s   sort %s%s%s", evs, rate,
	    thread_text(v, th, sizeof th), sort_names[v->sort], v->o->out ? "   capture " : "", vis);
}

/* Heap (#) and RSS (.) at each refresh, the newest on the right. */
static void draw_chart(struct view *v, int top, int width)
{
	uint64_t max = 1;
	size_t n = v->nhist < (size_t)width ? v->nhist : (size_t)width;
	size_t first = v->nhist - n;
	for (size_t i = first; i < v->nhist; i++) {
		if (v->rss_hist[i] > max)
			max = v->rss_hist[i];
		if (v->heap_hist[i] > max)
			max = v->heap_hist[i];
	}
	for (int r = 0; r < CHART_ROWS; r++) {
		uint64_t level = max / CHART_ROWS * (uint64_t)(CHART_ROWS - r - 1);
		move(top + r, 0);
		clrtoeol();
		for (size_t i = first; i < v->nhist; i++)
			addch(v->heap_hist[i] > level ? '#' : v->rss_hist[i] > level ? '.' : ' ');
	}
	char m[32];
	put(top + CHART_ROWS, "chart: # tracked heap, . RSS; top %s, one column a refresh",
		 ma_fmt_bytes(max, m, sizeof m));
}

static void draw_rows(struct view *v, int top, int rows)
{
	char own[32], total[32], blocks[32], dp[32], ds[32], where[1024];
	attron(A_BOLD);
	put(top, "%14s %14s %9s %12s %12s  %s", "own bytes", "total bytes", "blocks", "since prev",
		 "since start", "location");
	attroff(A_BOLD);
	if (v->sel >= v->nrows && v->nrows)
		v->sel = v->nrows - 1;
	for (int i = 0; i < rows && (size_t)i < v->nrows; i++) {
		const ma_lv_row *r = &v->rows[i];
		fmt_signed(r->since_prev, dp, sizeof dp);
		fmt_signed(r->since_start, ds, sizeof ds);
		if ((size_t)i == v->sel)
			attron(A_REVERSE);
		put(top + 1 + i, "%14s %14s %9s %12s %12s  %s", ma_fmt_count(r->own.bytes, own, sizeof own),
			 ma_fmt_count(r->total.bytes, total, sizeof total),
			 ma_fmt_count(r->own.count, blocks, sizeof blocks), dp, ds,
			 loc_text(ma_lv_loc(v->lv, r->loc), where, sizeof where));
		if ((size_t)i == v->sel)
			attroff(A_REVERSE);
	}
	if (v->nrows)
		v->sel_loc = v->rows[v->sel].loc;
}

static void draw_tree(struct view *v, int top, int rows)
{
	char b[32], where[1024];
	size_t n = ma_lv_tree(v->lv, v->sel_loc, v->nodes, TREE_MAX);
	attron(A_BOLD);
	put(top, "call tree of %s (live bytes through each path; Enter or c: back)",
		 loc_text(ma_lv_loc(v->lv, v->sel_loc), where, sizeof where));
	attroff(A_BOLD);
	for (int i = 0; i < rows && (size_t)i < n; i++) {
		const ma_lv_node *nd = &v->nodes[i];
		int indent = (int)(nd->depth < 40 ? nd->depth : 40) * 2;
		put(top + 1 + i, "%15s  %*s%s%s", ma_fmt_count(nd->live.bytes, b, sizeof b), indent, "",
			 nd->loc == v->sel_loc ? "> " : "", loc_text(ma_lv_loc(v->lv, nd->loc), where, sizeof where));
	}
}

static void draw_help(void)
{
	static const char *const lines[] = {
		"keys",
		"  o t b g     sort by own, total, blocks, growth since the previous refresh",
		"  up/down j k select a row",
		"  Enter c     call tree of the selected row (again: back to the table)",
		"  f           thread filter: all threads, then each thread in turn",
		"  p space     pause / resume the refreshes",
		"  s           write a snapshot capture of the live set now",
		"  q           quit: detach, the target goes on",
		"  ?           this help (any key closes it)",
	};
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
	{
		char pad[96];
		snprintf(pad, sizeof pad, "%-84s", lines[i]);
		if (COLS > 4)
			mvaddnstr(7 + (int)i, 4, pad, COLS - 4);
	}
}

static void draw(struct view *v)
{
	int h, w;
	getmaxyx(stdscr, h, w);
	erase();
	draw_header(v);
	draw_chart(v, 3, w);
	int top = 3 + CHART_ROWS + 1, rows = h - top - 2;
	if (rows < 0)
		rows = 0;
	if (v->tree)
		draw_tree(v, top, rows);
	else
		draw_rows(v, top, rows);
	put(h - 1, "%s", v->message[0] ? v->message : "? help  q quit");
	if (v->help)
		draw_help();
	refresh();
}

/* ---- keys ---- */

static void snapshot_now(struct view *v)
{
	char path[4096], err[1024], note[256];
	ma_snapshot_name(path, sizeof path, NULL, v->o->comm, v->o->pid, ++v->snapshots);
	snprintf(note, sizeof note, "snapshot of the live set taken in memattach live at %.3f s",
		 (double)v->fo.tick_time_ns / 1e9);
	if (ma_follow_write_snapshot(&v->fo, path, v->o->pid, v->fo.tick_time_ns, v->fo.tick_rss, note, err,
				     sizeof err) < 0)
		snprintf(v->message, sizeof v->message, "cannot write the snapshot: %s", err);
	else
		snprintf(v->message, sizeof v->message, "snapshot written: %s (%llu B live)", path,
			 (unsigned long long)v->fo.a->live_bytes);
}

static void cycle_thread(struct view *v)
{
	const ma_analysis *a = v->fo.a;
	v->thread_i = v->thread_i >= a->nthreads ? 0 : v->thread_i + 1;
	v->tid = v->thread_i ? a->threads[v->thread_i - 1].tid : 0;
	ma_lv_set_thread(v->lv, v->tid);
	v->sel = 0;
}

static void on_key(struct view *v, int k)
{
	if (v->help) {
		v->help = 0;
		return;
	}
	switch (k) {
	case 'q': case 'Q': v->quit = 1; break;
	case '?': case 'h': v->help = 1; break;
	case 'o': v->sort = MA_LV_OWN; break;
	case 't': v->sort = MA_LV_TOTAL; break;
	case 'b': v->sort = MA_LV_BLOCKS; break;
	case 'g': v->sort = MA_LV_GROWTH; break;
	case 'p': case ' ': v->paused = !v->paused; break;
	case 's': snapshot_now(v); break;
	case 'f': cycle_thread(v); break;
	case 'c': case '\n': case '\r': case KEY_ENTER: v->tree = !v->tree && v->nrows; break;
	case KEY_UP: case 'k': if (v->sel) v->sel--; break;
	case KEY_DOWN: case 'j': if (v->sel + 1 < v->nrows) v->sel++; break;
	default: break;
	}
	ma_lv_set_sort(v->lv, v->sort);
	v->nrows = ma_lv_top(v->lv, v->rows, MAX_ROWS);
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The capture loop's hook: keys, then a refresh when one is due and the
 * stream has reached it. */
static int tick(void *ctx)
{
	struct view *v = ctx;
	int k, redraw = 0;
	while ((k = getch()) != ERR) {
		if (k != KEY_RESIZE)
			on_key(v, k);
		redraw = 1;
	}
	uint64_t now = ma_monotonic_ns();
	if (!v->paused && ma_follow_covers(&v->fo, v->due)) {
		uint64_t cpu0 = thread_cpu_ns();
		ma_lv_refresh(v->lv);
		v->nrows = ma_lv_top(v->lv, v->rows, MAX_ROWS);
		measure_rates(v);
		keep_sample(v);
		v->refreshes++;
		redraw = 1;
		/* the next one is due after this one is on the screen */
		v->due = v->due + v->o->interval_ns > now ? v->due + v->o->interval_ns : now;
		draw(v);
		redraw = 0;
		uint64_t cpu = thread_cpu_ns() - cpu0;
		v->view_cpu_ns += cpu;
		v->view_cpu_us[(v->refreshes - 1) % 1024] = (uint32_t)(cpu / 1000);
		if (cpu > v->view_cpu_max_ns)
			v->view_cpu_max_ns = cpu;
	}
	if (redraw)
		draw(v);
	return v->quit;
}

static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	return a < b ? -1 : a > b;
}

static double median_ms(struct view *v)
{
	size_t n = v->refreshes < 1024 ? v->refreshes : 1024;
	qsort(v->view_cpu_us, n, sizeof *v->view_cpu_us, cmp_u32);
	return n ? v->view_cpu_us[n / 2] / 1e3 : 0;
}

static int setup(struct view *v)
{
	if (ma_follow_init(&v->fo) < 0 || !(v->z = ma_symbolizer_new(v->c->s->root_prefix)))
		return -1;
	ma_analysis_split_by_thread(v->fo.a);
	ma_analysis_track_changes(v->fo.a);
	if (!(v->lv = ma_lv_new(v->fo.a, v->z)))
		return -1;
	v->fo.after = after_record;
	v->fo.after_ctx = v;
	return 0;
}

static void teardown(struct view *v)
{
	ma_lv_free(v->lv);
	ma_symbolizer_free(v->z);
	ma_follow_free(&v->fo);
}

static void screen_on(void)
{
	initscr();
	cbreak();
	noecho();
	nodelay(stdscr, TRUE);
	keypad(stdscr, TRUE);
	curs_set(0);
}

int ma_live_run(struct ma_capture *c, const struct ma_live_opts *o)
{
	static struct view v;
	memset(&v, 0, sizeof v);
	v.o = o;
	v.c = c;
	if (setup(&v) < 0) {
		fprintf(stderr, "memattach: out of memory\n");
		teardown(&v);
		ma_session_send_stop(c->s);
		ma_session_cleanup(c->s);
		return MA_EXIT_ERROR;
	}
	c->s->on_record = ma_follow_on_record;
	c->s->on_record_ctx = &v.fo;
	c->hook = tick;
	c->hook_ctx = &v;
	c->status_line = 0;
	v.due = ma_monotonic_ns();
	screen_on();
	draw(&v);
	enum ma_capture_end end = ma_capture_follow(c);
	endwin();
	c->s->on_record = NULL;
	if (end == MA_END_ERROR)
		ma_session_send_stop(c->s);
	else if (!c->s->eof)
		ma_capture_stop(c);
	if (!o->quiet && v.refreshes)
		fprintf(stderr, "memattach: %llu refreshes, the view's own CPU per refresh: median %.3f ms, mean %.3f ms, at most %.3f ms (%zu locations)\n",
			(unsigned long long)v.refreshes, median_ms(&v), (double)v.view_cpu_ns / 1e6 / (double)v.refreshes,
			(double)v.view_cpu_max_ns / 1e6, ma_lv_nlocs(v.lv));
	if (v.snapshots && !o->quiet)
		fprintf(stderr, "memattach: %u snapshot%s written\n", v.snapshots, v.snapshots > 1 ? "s" : "");
	teardown(&v);
	if (o->out) {
		ma_capture_judge_end(c, o->quiet);
		return ma_capture_close(c, o->out, o->quiet);
	}
	ma_capture_judge_end(c, o->quiet);
	ma_session_cleanup(c->s);
	if (!o->quiet)
		fprintf(stderr, "memattach: detached from pid %d\n", (int)o->pid);
	return c->rc;
}

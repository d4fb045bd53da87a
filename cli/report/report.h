/* report.h — `memattach report FORMAT FILE [options]`, and what each report
 * format (one file per format: formats/stats.c, ...) gets to work with. */
#ifndef MEMATTACH_REPORT_H
#define MEMATTACH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "cli/analysis/analysis.h"

/* The report command's entry (cli/cmd/report_cmd.c): argv[0] = "report",
 * argv[1] = format, then the capture file and options.  Returns an exit
 * code from exit_codes.h. */
int ma_report_main(int argc, char **argv);

/* getopt values of the report options (the table is cli/cmd/cli_table.c). */
enum ma_report_key {
	MA_RKEY_JSON = 300, MA_RKEY_TOP, MA_RKEY_FRAMES,
	MA_RKEY_PEAK, MA_RKEY_LEAKS, MA_RKEY_TOTAL, MA_RKEY_TEMPORARY,
	MA_RKEY_THREAD, MA_RKEY_MIN_SIZE, MA_RKEY_TIME, MA_RKEY_NATIVE,
	MA_RKEY_MAX, MA_RKEY_SORT, MA_RKEY_MIN_PERCENT,
	MA_RKEY_BASE, MA_RKEY_INVERTED, MA_RKEY_CALLERS, MA_RKEY_CALLEES,
	MA_RKEY_KEEP_WRAPPERS, MA_RKEY_WRAPPER, MA_RKEY_ROOT,
};

/* ---- for report formats ---- */

/* Which memory a report shows. */
typedef enum ma_metric {
	MA_METRIC_PEAK = 0,   /* --peak (default): live when the live total was highest */
	MA_METRIC_LEAKS,      /* --leaks: still live at the end of the capture */
	MA_METRIC_TOTAL,      /* --total: everything allocated over the capture */
	MA_METRIC_TEMPORARY,  /* --temporary: freed before the same thread's next allocation */
	MA_METRICS
} ma_metric;

typedef enum ma_sort { MA_SORT_OWN, MA_SORT_TOTAL, MA_SORT_COUNT } ma_sort;

/* Options common to the call-stack reports (summary, tree, folded, pprof,
 * flamegraph).  Filters go to the analysis before its run
 * (ma_report_analyze does that), so every report and stats agree. */
typedef struct ma_report_opts {
	ma_metric metric;        /* --peak | --leaks | --total */
	ma_filter filter;        /* --thread TID|NAME, --min-size BYTES, --time FROM:TO */
	int native;              /* --native: every frame, also the interpreter's */
	unsigned max;            /* --max N: rows of summary (default 10) */
	ma_sort sort;            /* --sort own|total|count (summary) */
	double min_percent;      /* --min-percent P: tree pruning (default 1) */
	int have_metric;         /* a metric option was given */
	int keep_wrappers;       /* --keep-wrappers: show allocator wrappers as callers */
	void *wrappers;          /* --wrapper REGEX: more wrappers (a compiled regex_t) */
	char *wrapper_text;      /* their pattern, the --wrapper values joined */
	int inverted;            /* --inverted: trees from the allocation sites out */
	const char *callers;     /* --callers F: who called F (a tree from F out) */
	const char *callees;     /* --callees F: what F called (a tree from F in) */
	const char *base;        /* --base OLD: show this capture minus OLD */
	const char *root;        /* --root DIR: the target's root, for symbols read now */
} ma_report_opts;

/* Defaults. */
void ma_report_opts_init(ma_report_opts *o);
/* Frees what parsing allocated (the --wrapper regex). */
void ma_report_opts_free(ma_report_opts *o);
/* Applies one option (an enum ma_report_key and its value) to args:
 * 1 done, 0 not a report option, -1 with a one-line message in err. */
struct ma_report_args;
int ma_report_set_option(struct ma_report_args *args, int key, const char *val,
			 char *err, size_t errlen);

/* "peak" / "leaks" / "total", and a phrase for headings. */
const char *ma_metric_name(ma_metric m);
const char *ma_metric_title(ma_metric m);
/* What a metric's count counts: "blocks" (live) or "allocations". */
const char *ma_metric_unit(ma_metric m);

/* A stack's value in a metric (bytes and blocks / allocations). */
ma_count ma_stack_value(const ma_stack_stats *s, ma_metric m);

/* One shown frame of a stack: a native frame (or one inlined call inside
 * it) or a Python frame.  Strings belong to the analysis. */
typedef struct ma_loc {
	uint64_t frame;          /* the Stack.frames value */
	const char *function;    /* NULL: unknown */
	const char *file;        /* NULL: unknown */
	uint32_t line;           /* 0: unknown */
	const char *module;      /* native: the object, when known */
	uint64_t module_offset;
	int python;              /* a Python frame */
	int inlined;             /* inlined into the next (outer) location */
} ma_loc;

/* The frames of a stack as the reports show them, innermost first (as
 * Stack.frames).  Inlined calls expand into several locations.  For a stack
 * with Python frames, unless o->native: the native frames below (inside) the
 * innermost Python frame, then only the Python frames (the interpreter's
 * native frames between and above them left out).  Allocator wrappers at
 * the inside (ma_loc_is_wrapper) are left out unless o->keep_wrappers, so
 * that the wrapper's caller is the one that allocated.  Returns the count
 * (at most max). */
size_t ma_stack_view(const ma_analysis *a, const ma_stack_stats *s, const ma_report_opts *o,
		     ma_loc *out, size_t max);
/* A known allocator wrapper (redis zmalloc, glib g_malloc, PostgreSQL
 * palloc, sqlite3Malloc, xmalloc, strdup, CPython's PyMem_ and
 * PyObject_Malloc families, ...) or one matching --wrapper. */
int ma_loc_is_wrapper(const ma_loc *l, const ma_report_opts *o);
/* Does the capture have Python frames? (decides whether --native matters) */
int ma_analysis_has_python(const ma_analysis *a);

/* Display name of a location: the function, else module+0xOFF, else 0xADDR. */
const char *ma_loc_name(const ma_loc *l, char *buf, size_t len);
/* Same location: the same function in the same file (and, with by_line,
 * at the same line); frames without a name are the same address.  The
 * hash agrees with it. */
int ma_loc_same(const ma_loc *x, const ma_loc *y, int by_line);
uint64_t ma_loc_hash(const ma_loc *l, int by_line);
/* "file:line", "file", or "" when unknown. */
const char *ma_loc_where(const ma_loc *l, char *buf, size_t len);

/* The merged call tree: root (all stacks) → outermost frames → ... →
 * innermost.  Sibling locations with the same name (and, with by_line, the
 * same file:line) are merged.  Every node has all three metrics, so one tree
 * serves any of them. */
typedef struct ma_tree_node {
	uint32_t parent;         /* UINT32_MAX: the root */
	uint32_t first_child;    /* UINT32_MAX: none */
	uint32_t next_sibling;   /* UINT32_MAX: none */
	uint32_t depth;          /* root 0 */
	ma_loc loc;              /* the root's is all zero */
	ma_count value[MA_METRICS];    /* per metric, incl. callees (each stack counted once) */
	ma_count self[MA_METRICS];     /* per metric, of the stacks ending here */
} ma_tree_node;

typedef struct ma_tree {
	ma_tree_node *nodes;     /* nodes[0] is the root */
	size_t nnodes;
	/* Per a->stacks[i]: its innermost node (0: no frames, or not selected
	 * by the filter).  With snapshots: add a snapshot's per-stack live
	 * value at stack_leaf[i] and every parent to get the tree at that
	 * moment. */
	uint32_t *stack_leaf;
	/* A --base tree (ma_tree_diff): per node and metric (node * MA_METRICS
	 * + metric), the base capture's values; NULL otherwise. */
	ma_count *base, *base_self;
} ma_tree;

/* The trees now and base merged by location path (function, file and,
 * with by_line, line: never addresses): value[] and self[] are now's, the
 * base's are in ->base.  Children are unsorted (ma_tree_sort_change).
 * now, base and their analyses must outlive it.  NULL on OOM. */
ma_tree *ma_tree_diff(const ma_tree *now, const ma_tree *base, int by_line);
/* The same, and where each node of now and of base went in the result
 * (now_to: now->nnodes entries, base_to: base->nnodes). */
ma_tree *ma_tree_diff_mapped(const ma_tree *now, const ma_tree *base, int by_line,
			     uint32_t *now_to, uint32_t *base_to);
ma_count ma_tree_base(const ma_tree *t, uint32_t node, ma_metric m);
ma_count ma_tree_base_self(const ma_tree *t, uint32_t node, ma_metric m);
/* now minus base, in bytes. */
int64_t ma_tree_change(const ma_tree *t, uint32_t node, ma_metric m);
/* Children sorted by the size of their change (either sign), biggest first. */
void ma_tree_sort_change(ma_tree *t, ma_metric m);

/* Builds the tree from an analysis (filters already applied in it; opts
 * gives --native, the wrappers, --inverted, --callers and --callees: with
 * the last two only the stacks through that function count, and it is the
 * tree's first level).  A node is one function in one file, and with
 * by_line one line of it.  Children are sorted biggest first by
 * opts->metric (bytes, then count, then name).  NULL on OOM. */
ma_tree *ma_tree_build(const ma_analysis *a, const ma_report_opts *opts, int by_line);
/* Re-sorts every node's children by metric m. */
void ma_tree_sort(ma_tree *t, ma_metric m);
void ma_tree_free(ma_tree *t);
/* A node's value in a metric. */
ma_count ma_tree_value(const ma_tree_node *n, ma_metric m);

/* A progress bar on stderr for long reports: shown only when stderr is a
 * terminal and the work takes over a second.  ma_progress_update can be
 * given to ma_analysis_set_progress; ma_progress_done clears the line. */
typedef struct ma_progress {
	const char *what;
	uint64_t start_ns;
	int shown, tty;
} ma_progress;
void ma_progress_init(ma_progress *p, const char *what);
void ma_progress_update(void *p, uint64_t done, uint64_t total);
void ma_progress_done(ma_progress *p);

typedef struct ma_report_args {
	const char *format;
	const char *capture;     /* the capture file */
	const char *output;      /* -o OUT, NULL: stdout */
	int json;                /* --json */
	unsigned top;            /* --top N (default 10) */
	unsigned frames;         /* --frames N: frames shown per stack (default 6) */
	FILE *out;               /* where the report goes */
	ma_report_opts opts;     /* the common options */
} ma_report_args;

typedef struct ma_report_format {
	const char *name;
	const char *help;
	int json;                /* has a --json form */
	/* Writes the report to args->out; returns an exit code. */
	int (*run)(const ma_report_args *args);
} ma_report_format;

/* The formats, and the one named name (NULL: none). */
const ma_report_format *ma_report_formats(size_t *n);
const ma_report_format *ma_report_format_find(const char *name);
/* Writes the report of args (format, capture and options set): checks the
 * capture is a regular file and --json, opens the output, runs the format.
 * Returns an exit code; every error is printed. */
int ma_report_run(const ma_report_format *fmt, ma_report_args *args);
/* After the analysis: a --thread that names no thread of the capture is an
 * error (printed): MA_EXIT_USAGE, else MA_EXIT_OK. */
int ma_report_check_thread(const ma_report_args *args, const struct ma_analysis *a);

/* Replays args->capture into a new analysis with args->opts.filter, with
 * a progress bar; prints the one-line error or the truncation warning on
 * stderr.  Returns MA_EXIT_OK and *out, or an exit code. */
int ma_report_analyze(const ma_report_args *args, struct ma_analysis **out);
/* The same, also taking up to `snapshots` snapshots of the live set (see
 * ma_analysis_want_snapshots; 0: none). */
int ma_report_analyze_snapshots(const ma_report_args *args, unsigned snapshots,
				struct ma_analysis **out);
/* What a report wants of the analysis beyond the totals. */
typedef struct ma_analyze_want {
	unsigned snapshots;      /* up to this many snapshots of the live set; 0: none */
	int by_thread;           /* per-stack values per allocating thread */
	int range;               /* the flame graph's time range (ma_analysis_want_range) */
} ma_analyze_want;
int ma_report_analyze_with(const ma_report_args *args, const ma_analyze_want *want,
			   struct ma_analysis **out);
/* The analysis of --base's capture, with the same filters. */
int ma_report_analyze_base(const ma_report_args *args, struct ma_analysis **out);

struct ma_json;
/* A location's fields in JSON: function, file, line, module, python,
 * inlined (the schema of summary --json and tree --json). */
void ma_report_json_loc(struct ma_json *j, const ma_loc *l);

/* "12.3 MiB" (binary units, 3 significant digits; exact below 1 KiB). */
const char *ma_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* "1,234,567". */
const char *ma_fmt_count(uint64_t n, char *buf, size_t len);
/* "12.345 s". */
const char *ma_fmt_seconds(uint64_t ns, char *buf, size_t len);
/* One warning line naming the damaged ranges the reader skipped, if any;
 * the report command then exits MA_EXIT_DAMAGED. */
void ma_report_warn_damage(const struct ma_analysis *a);

/* Events the agent dropped (lost.c): the sentence "N events lost between
 * t1 and t2 (...)" or NULL when none; " *" (the mark on affected figures)
 * or ""; the text reports' line; the stats --json object. */
const char *ma_report_lost_text(const ma_analysis *a, char *buf, size_t len);
const char *ma_report_lost_mark(const ma_analysis *a);
void ma_report_lost_line(const ma_analysis *a, FILE *f);
struct ma_json;
void ma_report_lost_json(const ma_analysis *a, struct ma_json *j);

/* A sampled capture (sampled.c, --sample): the sentence saying its figures
 * are estimates (NULL when not sampled); the text reports' "~ Sampled:"
 * line; the stats --json "sampled" object (null when not sampled); a
 * rough 95% error bound of an estimated byte value (0 when not sampled). */
const char *ma_report_sampled_text(const ma_analysis *a, char *buf, size_t len);
/* --thread N in a capture of a container: N's id in the target's pid
 * namespace when N is a host thread id the capture pairs with one, else N
 * (ns_tid.c). */
uint32_t ma_report_ns_tid(const char *path, uint32_t tid);
const char *ma_report_sampled_short(const ma_analysis *a, char *buf, size_t len);
void ma_report_sampled_line(const ma_analysis *a, FILE *f);
void ma_report_sampled_json(const ma_analysis *a, struct ma_json *j);
uint64_t ma_report_error_bytes(const ma_analysis *a, uint64_t bytes);

/* Stack indices sorted by a key, descending, at most n; returns the count.
 * by: 0 = bytes allocated, 1 = allocations, 2 = bytes live at the end,
 * 3 = bytes live at the peak. */
size_t ma_top_stacks(const struct ma_analysis *a, int by, size_t n, uint32_t *idx);

int ma_report_stats(const ma_report_args *args);
int ma_report_summary(const ma_report_args *args);
int ma_report_tree(const ma_report_args *args);
int ma_report_folded(const ma_report_args *args);
int ma_report_pprof(const ma_report_args *args);
int ma_report_flamegraph(const ma_report_args *args);

/* RSS in the last sample of the capture (0: none). */
uint64_t ma_report_rss_at_end(const ma_analysis *a);
/* One line for attached captures: RSS at attach and at the end, tracked
 * live heap, and the part that is not attributed. */
void ma_report_attribution(const ma_analysis *a, FILE *f);
/* Its note alone (heap above RSS; attached: RSS mostly not attributed), or NULL. */
const char *ma_report_attribution_note(const ma_analysis *a, char *buf, size_t len);

#endif

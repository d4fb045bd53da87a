/* test_report_formats.c — summary, tree, folded, pprof, the common options
 * and filters, snapshots and the Python frame view, on a small synthetic
 * capture whose every number is worked out by hand below. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/analysis/analysis.h"
#include "cli/util/exit_codes.h"
#include "record_io.h"
#include "cli/report/report.h"
#include "report_run.h"
#include "synth.h"

/* ma_report_main; returns the exit code, output in *out and stderr in
 * *err (caller frees both). */
static int run(char **out, char **err, int argc, ...)
{
	va_list ap;
	va_start(ap, argc);
	int rc = report_runv(out, err, argc, ap);
	va_end(ap);
	return rc;
}

static void sym(synth *s, uint64_t addr, const char *fn, const char *file, uint32_t line)
{
	Memattach__Symbol sy = MEMATTACH__SYMBOL__INIT;
	sy.address = addr;
	sy.function = (char *)fn;
	sy.file = (char *)file;
	sy.line = line;
	sy.module = "/usr/bin/synth";
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_SYMBOL;
	r.symbol = &sy;
	synth_record(s, &r);
}

static void pyframe(synth *s, uint32_t id, const char *fn, const char *file, uint32_t line)
{
	Memattach__PythonFrame f = MEMATTACH__PYTHON_FRAME__INIT;
	f.id = id;
	f.kind = MEMATTACH__FRAME_KIND__FRAME_PYTHON;
	f.function = (char *)fn;
	f.file = (char *)file;
	f.line = line;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_PYTHON_FRAME;
	r.python_frame = &f;
	synth_record(s, &r);
}

static void module(synth *s, const char *path, uint64_t start, uint64_t end)
{
	Memattach__Segment sg = MEMATTACH__SEGMENT__INIT, *sgs[1] = { &sg };
	sg.start = start;
	sg.end = end;
	sg.flags = 5;
	Memattach__Module m = MEMATTACH__MODULE__INIT;
	m.load_address = start;
	m.path = (char *)path;
	m.n_segments = 1;
	m.segments = sgs;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_MODULE;
	r.module = &m;
	synth_record(s, &r);
}

enum { MALLOC = MEMATTACH__EVENT_KIND__MALLOC, FREE = MEMATTACH__EVENT_KIND__FREE };

/*
 * Stacks (innermost first):
 *   1: alloc_a@0x1001  mid@0x2001  main@0x3001
 *   2: alloc_b@0x1101  mid@0x2001  main@0x3001
 *   3: alloc_c@0x1201  main@0x3002            (main again, another line)
 *   4: alloc_a@0x1001  mid@0x2002  mid@0x2001  main@0x3001   (recursion)
 * Events (time = 1000 ns * n):
 *   1-3 t1: A1..A3 100 B each, stack 1      tick (3000)
 *   4   t2: B1 1000 B, stack 2
 *   5   t1: C1 50 B, stack 3
 *   6   t1: D1 10 B, stack 4   → the peak, 1360 B in 6 blocks     tick (6000)
 *   7   t1: free B1 (another thread's block)
 *   8   t1: free A1
 *   9   t2: B2 20 B, stack 2   → end: 280 B in 5 blocks           tick (9000)
 * With truncate, the file ends after event 6 without trailers.
 */
static char *make_capture(int truncate)
{
	char *p = synth_tmpname("fmt");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t f1[] = { 0x1001, 0x2001, 0x3001 }, f2[] = { 0x1101, 0x2001, 0x3001 },
		 f3[] = { 0x1201, 0x3002 }, f4[] = { 0x1001, 0x2002, 0x2001, 0x3001 };
	synth_stack(s, 1, 3, f1);
	synth_stack(s, 2, 3, f2);
	synth_stack(s, 3, 2, f3);
	synth_stack(s, 4, 4, f4);
	synth_thread(s, 1, "main");
	synth_thread(s, 2, "worker");
	for (int i = 0; i < 3; i++)
		synth_event(s, 1, MALLOC, 0x10000 + 0x100 * (uint64_t)i, 100, 1);
	synth_tick(s, 1 << 20);
	synth_event(s, 2, MALLOC, 0x20000, 1000, 2);
	synth_event(s, 1, MALLOC, 0x30000, 50, 3);
	synth_event(s, 1, MALLOC, 0x40000, 10, 4);
	synth_tick(s, 1 << 20);
	if (truncate) {
		synth_flush_file(s);
		synth_close(s);
		return p;
	}
	synth_event(s, 1, FREE, 0x20000, 0, 0);
	synth_event(s, 1, FREE, 0x10000, 0, 0);
	synth_event(s, 2, MALLOC, 0x20000, 20, 2);
	synth_tick(s, 1 << 20);
	/* symbols come last, as the CLI appends them */
	sym(s, 0x1001, "alloc_a", "a.c", 11);
	sym(s, 0x1101, "alloc_b", "b.c", 22);
	sym(s, 0x1201, "alloc_c", "c.c", 33);
	sym(s, 0x2001, "mid", "m.c", 44);
	sym(s, 0x2002, "mid", "m.c", 45);
	sym(s, 0x3001, "main", "main.c", 5);
	sym(s, 0x3002, "main", "main.c", 6);
	synth_finish(s, 1);
	synth_close(s);
	return p;
}

static char *cap;

static int setup(void **state)
{
	(void)state;
	cap = make_capture(0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(cap);
	free(cap);
	return 0;
}

static void expect(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("output lacks '%s':\n%s", needle, text);
}

/* Runs `report folded CAP extra...` and compares the whole output. */
static void folded_is(const char *want, int nextra, ...)
{
	char *argv[12] = { "report", "folded", cap };
	va_list ap;
	va_start(ap, nextra);
	for (int i = 0; i < nextra; i++)
		argv[3 + i] = va_arg(ap, char *);
	va_end(ap);
	char *out, *err;
	int rc = run(&out, &err, 3 + nextra, argv[0], argv[1], argv[2], argv[3], argv[4], argv[5],
		     argv[6], argv[7], argv[8], argv[9], argv[10], argv[11]);
	if (rc != MA_EXIT_OK || strcmp(out, want))
		fail_msg("folded %s %s %s %s: rc %d\n--- got:\n%s--- want:\n%s--- stderr:\n%s", argv[3] ? argv[3] : "",
			 argv[4] ? argv[4] : "", argv[5] ? argv[5] : "", argv[6] ? argv[6] : "", rc, out, want, err);
	free(out);
	free(err);
}

static void test_folded(void **state)
{
	(void)state;
	folded_is("main;mid;alloc_b 1000\n"
		  "main;mid;alloc_a 300\n"
		  "main;mid;mid;alloc_a 10\n"
		  "main;alloc_c 50\n", 0);
	folded_is("main;mid;alloc_a 200\n"
		  "main;mid;alloc_b 20\n"
		  "main;mid;mid;alloc_a 10\n"
		  "main;alloc_c 50\n", 1, "--leaks");
	folded_is("main;mid;alloc_b 1020\n"
		  "main;mid;alloc_a 300\n"
		  "main;mid;mid;alloc_a 10\n"
		  "main;alloc_c 50\n", 1, "--total");
}

static void test_filters(void **state)
{
	(void)state;
	/* thread by name and by id: B1, B2 only; B1 is freed by thread 1 */
	folded_is("main;mid;alloc_b 1020\n", 3, "--total", "--thread", "worker");
	folded_is("main;mid;alloc_b 1000\n", 1, "--thread=2");
	folded_is("main;mid;alloc_b 20\n", 3, "--leaks", "--thread", "worker");
	folded_is("main;mid;alloc_a 300\n"
		  "main;mid;mid;alloc_a 10\n"
		  "main;alloc_c 50\n", 3, "--total", "--thread", "main");
	/* min size: only the 100 B and 1000 B blocks */
	folded_is("main;mid;alloc_b 1000\n"
		  "main;mid;alloc_a 300\n", 3, "--total", "--min-size", "60");
	/* peak of the selection: A1..A3 + B1 = 1300 (at event 4) */
	folded_is("main;mid;alloc_b 1000\n"
		  "main;mid;alloc_a 300\n", 2, "--min-size", "60");
	/* time window 3.5 us .. 6.5 us: B1, C1, D1 */
	folded_is("main;mid;alloc_b 1000\n"
		  "main;mid;mid;alloc_a 10\n"
		  "main;alloc_c 50\n", 3, "--total", "--time", "3500ns:6500ns");
	folded_is("main;alloc_c 50\n"
		  "main;mid;mid;alloc_a 10\n", 3, "--leaks", "--time", "3500ns:6500ns");
	folded_is("main;mid;alloc_b 20\n", 3, "--total", "--time", "0.0000085:");

	/* stats agrees with the filter */
	char *out, *err;
	assert_int_equal(run(&out, &err, 6, "report", "stats", cap, "--json", "--thread", "worker"), MA_EXIT_OK);
	expect(out, "\"total_allocations\": 2,");
	expect(out, "\"total_bytes_allocated\": 1020,");
	expect(out, "\"total_frees\": 1,");
	expect(out, "\"untracked_frees\": 0,");   /* frees of unselected blocks are ignored */
	expect(out, "\"peak_bytes\": 1000,");
	expect(out, "\"leaked_bytes\": 20,");
	free(out);
	free(err);

	/* bad values: one line, usage exit code */
	assert_int_equal(run(&out, &err, 5, "report", "folded", cap, "--time", "5"), MA_EXIT_USAGE);
	expect(err, "--time needs FROM:TO");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "report", "folded", cap, "--min-size", "lots"), MA_EXIT_USAGE);
	expect(err, "--min-size");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "report", "folded", cap, "--peak", "--leaks"), MA_EXIT_USAGE);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "report", "summary", cap, "--sort", "size"), MA_EXIT_USAGE);
	expect(err, "--sort takes own, total or count");
	free(out);
	free(err);
}

/* A thread whose name arrives after its first allocations (a Python
 * thread's name comes from a later refresh; it is longer than a comm):
 * --thread NAME selects it by its last name, from its first allocation. */
static void test_filter_late_name(void **state)
{
	(void)state;
	static const char *longname = "ThreadPoolExecutor-0_0-a-long-python-name";
	char *p = synth_tmpname("late");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t f1[] = { 0x1001, 0x3001 }, f2[] = { 0x1101, 0x3001 };
	synth_stack(s, 1, 2, f1);
	synth_stack(s, 2, 2, f2);
	synth_thread(s, 7, "python3");
	synth_thread(s, 8, "python3");
	synth_event(s, 7, MALLOC, 0x10000, 100, 1);
	synth_event(s, 8, MALLOC, 0x20000, 5, 2);
	synth_tick(s, 1 << 20);
	synth_thread(s, 7, longname);
	synth_event(s, 7, MALLOC, 0x11000, 200, 1);
	synth_tick(s, 1 << 20);
	sym(s, 0x1001, "alloc_a", "a.c", 11);
	sym(s, 0x1101, "alloc_b", "b.c", 22);
	sym(s, 0x3001, "main", "main.c", 5);
	synth_finish(s, 1);
	synth_close(s);

	char *out, *err;
	assert_int_equal(run(&out, &err, 6, "report", "folded", p, "--total", "--thread", longname), MA_EXIT_OK);
	assert_string_equal(out, "main;alloc_a 300\n");
	free(out);
	free(err);
	/* the name it no longer has: the other thread only */
	assert_int_equal(run(&out, &err, 6, "report", "folded", p, "--total", "--thread", "python3"), MA_EXIT_OK);
	assert_string_equal(out, "main;alloc_b 5\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 4, "report", "stats", p, "--json"), MA_EXIT_OK);
	expect(out, "\"tid\": 7,\n      \"name\": \"ThreadPoolExecutor-0_0-a-long-python-name\",");
	free(out);
	free(err);
	unlink(p);
	free(p);
}

static void test_summary(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "report", "summary", cap), MA_EXIT_OK);
	assert_string_equal(err, "");
	expect(out, "Memory live at the peak: 1.33 KiB (1,360 B) in 6 blocks\n");
	/* by own: the locations that allocate nothing themselves never fill
	 * the top (however large --max) */
	expect(out, "Top 3 of 7 locations by own");
	expect(out, "(4 locations that allocate nothing themselves are left out: --sort total lists them)\n");
	/* own, own%, total, total%, blocks, location (sorted by own) */
	expect(out, "          1,000  73.53%           1,000  73.53%            1  alloc_b  b.c:22\n"
		    "            310  22.79%             310  22.79%            4  alloc_a  a.c:11\n"
		    "             50   3.68%              50   3.68%            1  alloc_c  c.c:33\n");
	assert_null(strstr(out, "main.c:5"));
	free(out);
	free(err);

	/* total counts each stack once: mid@m.c:44 is on stacks 1, 2 and 4 */
	assert_int_equal(run(&out, &err, 5, "report", "summary", cap, "--sort", "total"), MA_EXIT_OK);
	expect(out, "              0   0.00%           1,310  96.32%            0  mid  m.c:44\n");
	expect(out, "              0   0.00%              10   0.74%            0  mid  m.c:45\n");
	expect(out, "              0   0.00%           1,310  96.32%            0  main  main.c:5\n");
	free(out);
	free(err);

	assert_int_equal(run(&out, &err, 7, "report", "summary", cap, "--sort", "total", "--max", "2"), MA_EXIT_OK);
	expect(out, "Top 2 of 7 locations by total");
	expect(out, "              0   0.00%           1,310  96.32%            0  main  main.c:5\n"
		    "              0   0.00%           1,310  96.32%            0  mid  m.c:44\n");
	assert_null(strstr(out, "alloc_b"));
	free(out);
	free(err);

	assert_int_equal(run(&out, &err, 6, "report", "summary", cap, "--sort", "count", "--total"), MA_EXIT_OK);
	expect(out, "Memory allocated in total: 1.35 KiB (1,380 B) in 7 allocations\n");
	expect(out, "            310  22.46%             310  22.46%            4  alloc_a  a.c:11\n");
	free(out);
	free(err);
}

static void test_tree(void **state)
{
	(void)state;
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "report", "tree", cap), MA_EXIT_OK);
	/* a node is one (function, line): main calls mid from line 5 and
	 * alloc_c from line 6 */
	const char *want =
		"1,360 B  100.00%  6  (all)\n"
		"├─ 1,310 B  96.32%  5  main  (main.c:5)\n"
		"│  └─ 1,310 B  96.32%  5  mid  (m.c:44)\n"
		"│     ├─ 1,000 B  73.53%  1  alloc_b  (b.c:22)\n"
		"│     ├─ 300 B  22.06%  3  alloc_a  (a.c:11)\n"
		"│     └─ 10 B  0.74%  1  (1 smaller branch)\n"
		"└─ 50 B  3.68%  1  main  (main.c:6)\n"
		"   └─ 50 B  3.68%  1  alloc_c  (c.c:33)\n";
	expect(out, want);
	free(out);
	free(err);
	/* nothing pruned at 0% */
	assert_int_equal(run(&out, &err, 6, "report", "tree", cap, "--min-percent", "0", "--leaks"), MA_EXIT_OK);
	want = "280 B  100.00%  5  (all)\n"
	       "├─ 230 B  82.14%  4  main  (main.c:5)\n"
	       "│  └─ 230 B  82.14%  4  mid  (m.c:44)\n"
	       "│     ├─ 200 B  71.43%  2  alloc_a  (a.c:11)\n"
	       "│     ├─ 20 B  7.14%  1  alloc_b  (b.c:22)\n"
	       "│     └─ 10 B  3.57%  1  mid  (m.c:45)\n"
	       "│        └─ 10 B  3.57%  1  alloc_a  (a.c:11)\n"
	       "└─ 50 B  17.86%  1  main  (main.c:6)\n"
	       "   └─ 50 B  17.86%  1  alloc_c  (c.c:33)\n";
	expect(out, want);
	free(out);
	free(err);
	/* bottom-up: allocation sites first, then who called them */
	assert_int_equal(run(&out, &err, 6, "report", "tree", cap, "--inverted", "--min-percent", "0"), MA_EXIT_OK);
	want = "1,360 B  100.00%  6  (all)\n"
	       "├─ 1,000 B  73.53%  1  alloc_b  (b.c:22)\n"
	       "│  └─ 1,000 B  73.53%  1  mid  (m.c:44)\n"
	       "│     └─ 1,000 B  73.53%  1  main  (main.c:5)\n"
	       "├─ 310 B  22.79%  4  alloc_a  (a.c:11)\n"
	       "│  ├─ 300 B  22.06%  3  mid  (m.c:44)\n"
	       "│  │  └─ 300 B  22.06%  3  main  (main.c:5)\n"
	       "│  └─ 10 B  0.74%  1  mid  (m.c:45)\n"
	       "│     └─ 10 B  0.74%  1  mid  (m.c:44)\n"
	       "│        └─ 10 B  0.74%  1  main  (main.c:5)\n"
	       "└─ 50 B  3.68%  1  alloc_c  (c.c:33)\n"
	       "   └─ 50 B  3.68%  1  main  (main.c:6)\n";
	expect(out, want);
	free(out);
	free(err);
	/* who called alloc_a; what mid called */
	assert_int_equal(run(&out, &err, 7, "report", "tree", cap, "--callers", "alloc_a", "--min-percent", "0"), MA_EXIT_OK);
	expect(out, "Call tree of the memory live at the peak, callers of alloc_a");
	want = "310 B  100.00%  4  (all)\n"
	       "└─ 310 B  100.00%  4  alloc_a  (a.c:11)\n"
	       "   ├─ 300 B  96.77%  3  mid  (m.c:44)\n"
	       "   │  └─ 300 B  96.77%  3  main  (main.c:5)\n"
	       "   └─ 10 B  3.23%  1  mid  (m.c:45)\n"
	       "      └─ 10 B  3.23%  1  mid  (m.c:44)\n"
	       "         └─ 10 B  3.23%  1  main  (main.c:5)\n";
	expect(out, want);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 7, "report", "tree", cap, "--callees", "mid", "--min-percent", "0"), MA_EXIT_OK);
	want = "1,310 B  100.00%  5  (all)\n"
	       "└─ 1,310 B  100.00%  5  mid  (m.c:44)\n"
	       "   ├─ 1,000 B  76.34%  1  alloc_b  (b.c:22)\n"
	       "   ├─ 300 B  22.90%  3  alloc_a  (a.c:11)\n"
	       "   └─ 10 B  0.76%  1  mid  (m.c:45)\n"
	       "      └─ 10 B  0.76%  1  alloc_a  (a.c:11)\n";
	expect(out, want);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 4, "report", "tree", cap, "--callers=nosuch"), MA_EXIT_USAGE);
	expect(err, "memattach report: no stack goes through a function named 'nosuch'");
	free(out);
	free(err);
}

/* --base matches locations by function and file:line, not by address: a
 * "rebuilt" capture whose functions moved compares with the original. */
static void test_base_other_build(void **state)
{
	(void)state;
	char *p = synth_tmpname("moved");
	synth *s = synth_open(p);
	synth_header(s, 1);
	/* the layout of make_capture's stack 1 and 2, every address moved */
	uint64_t f1[] = { 0x91001, 0x92001, 0x93001 }, f2[] = { 0x91101, 0x92001, 0x93001 };
	synth_stack(s, 1, 3, f1);
	synth_stack(s, 2, 3, f2);
	synth_event(s, 1, MALLOC, 0x10000, 700, 1);   /* alloc_a: 700 live at the end (base 200) */
	synth_event(s, 1, MALLOC, 0x20000, 20, 2);    /* alloc_b: 20 (base 20) */
	synth_tick(s, 1 << 20);
	sym(s, 0x91001, "alloc_a", "a.c", 11);
	sym(s, 0x91101, "alloc_b", "b.c", 22);
	sym(s, 0x92001, "mid", "m.c", 44);
	sym(s, 0x93001, "main", "main.c", 5);
	synth_finish(s, 1);
	synth_close(s);
	char *out, *err;
	assert_int_equal(run(&out, &err, 6, "report", "summary", "--leaks", "--base", cap, p), MA_EXIT_OK);
	/* base (cap) at the end: alloc_a 210 in 3 blocks (two of stack 1, one of
	 * the recursive stack 4), alloc_b 20, alloc_c 50 */
	expect(out, "Change in the memory live at the end (leaks): +440 B (720 B in this capture, 280 B in the base ");
	expect(out, "           +490            +490           -2  alloc_a  a.c:11\n"
		    "            -50             -50           -1  alloc_c  c.c:33\n");
	assert_null(strstr(out, "alloc_b"));     /* unchanged */
	free(out);
	free(err);
	unlink(p);
	free(p);
}

static void test_truncated(void **state)
{
	(void)state;
	char *t = make_capture(1);
	const char *fmts[] = { "summary", "tree", "folded" };
	for (int i = 0; i < 3; i++) {
		char *out, *err;
		assert_int_equal(run(&out, &err, 3, "report", fmts[i], t), MA_EXIT_OK);
		expect(err, "warning: capture is truncated");
		/* and that names are missing (no module files to read them from) */
		expect(err, "warning: the capture holds no symbols, and none could be read from this machine's files: "
		       "native frames are shown as addresses");
		assert_null(strchr(strchr(strchr(err, '\n') + 1, '\n') + 1, '\n'));   /* two lines */
		free(out);
		free(err);
	}
	/* no symbols in the truncated file: addresses */
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "report", "folded", t), MA_EXIT_OK);
	assert_string_equal(out, "0x3001;0x2001;0x1101 1000\n"
				 "0x3001;0x2001;0x1001 300\n"
				 "0x3001;0x2001;0x2002;0x1001 10\n"
				 "0x3002;0x1201 50\n");
	free(out);
	free(err);
	unlink(t);
	free(t);
}

/* Snapshots: values at each tick, and thinning to at most max. */
static void test_snapshots(void **state)
{
	(void)state;
	ma_analysis *a = ma_analysis_new();
	char err[256];
	assert_int_equal(ma_analysis_want_snapshots(a, 10), 0);
	assert_int_equal(ma_analysis_run(a, cap, err, sizeof err), 0);
	assert_int_equal(a->nsnapshots, 3);
	ma_count live[4] = { { 0, 0 } };
	uint64_t want_t[3] = { 3000, 6000, 9000 };
	uint64_t want[3][4] = { { 300, 0, 0, 0 }, { 300, 1000, 50, 10 }, { 200, 20, 50, 10 } };
	size_t want_changed[3] = { 1, 3, 2 };
	for (size_t j = 0; j < 3; j++) {
		assert_int_equal(a->snapshots[j].time_ns, want_t[j]);
		assert_int_equal(a->snapshots[j].nchanged, want_changed[j]);
		ma_snapshot_apply(&a->snapshots[j], live);
		uint64_t sum = 0;
		for (int k = 0; k < 4; k++) {
			assert_int_equal(live[k].bytes, want[j][k]);
			sum += live[k].bytes;
		}
		assert_int_equal(a->snapshots[j].live_bytes, sum);
	}
	ma_analysis_free(a);

	a = ma_analysis_new();
	ma_analysis_want_snapshots(a, 2);
	assert_int_equal(ma_analysis_run(a, cap, err, sizeof err), 0);
	assert_int_equal(a->nsnapshots, 2);
	assert_int_equal(a->snapshots[0].time_ns, 6000);
	assert_int_equal(a->snapshots[0].nchanged, 4);    /* the first folded into it */
	memset(live, 0, sizeof live);
	ma_snapshot_apply(&a->snapshots[0], live);
	assert_int_equal(live[0].bytes, 300);
	assert_int_equal(live[1].bytes, 1000);
	assert_int_equal(live[0].count, 3);
	ma_snapshot_apply(&a->snapshots[1], live);
	assert_int_equal(live[0].bytes, 200);
	assert_int_equal(live[1].bytes, 20);

	/* the tree maps stacks to leaves for snapshot views */
	ma_report_opts o;
	ma_report_opts_init(&o);
	ma_tree *t = ma_tree_build(a, &o, 0);
	assert_non_null(t);
	char nb[64];
	assert_string_equal(ma_loc_name(&t->nodes[t->stack_leaf[1]].loc, nb, sizeof nb), "alloc_b");
	assert_string_equal(ma_loc_name(&t->nodes[t->nodes[t->stack_leaf[3]].parent].loc, nb, sizeof nb), "mid");
	assert_int_equal(t->nodes[0].value[MA_METRIC_PEAK].bytes, 1360);
	assert_int_equal(t->nodes[0].value[MA_METRIC_LEAKS].bytes, 280);
	assert_int_equal(t->nodes[0].value[MA_METRIC_TOTAL].bytes, 1380);
	ma_tree_free(t);
	ma_analysis_free(a);
}

/* Python stacks: by default Python frames plus the native frames inside
 * the innermost one; --native shows everything. */
static void test_python_view(void **state)
{
	(void)state;
	char *p = synth_tmpname("py");
	synth *s = synth_open(p);
	synth_header(s, 1);
	uint64_t py = MA_FRAME_PYTHON_BIT;
	uint64_t f[] = { 0x1001, 0x1002, py | 7, 0x4001, 0x4002, py | 8, 0x5001 };
	synth_stack(s, 1, 7, f);
	pyframe(s, 7, "inner_py", "app.py", 12);
	pyframe(s, 8, "outer_py", "app.py", 3);
	synth_event(s, 1, MALLOC, 0x10000, 64, 1);
	sym(s, 0x1001, "PyMem_Malloc", NULL, 0);
	sym(s, 0x1002, "list_append", NULL, 0);
	sym(s, 0x4001, "_PyEval_EvalFrameDefault", NULL, 0);
	sym(s, 0x4002, "PyEval_Call", NULL, 0);
	sym(s, 0x5001, "Py_RunMain", NULL, 0);
	synth_finish(s, 1);
	synth_close(s);
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "report", "folded", p), MA_EXIT_OK);
	/* PyMem_Malloc is an allocator wrapper: list_append allocated */
	assert_string_equal(out, "outer_py;inner_py;list_append 64\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 4, "report", "folded", p, "--keep-wrappers"), MA_EXIT_OK);
	assert_string_equal(out, "outer_py;inner_py;list_append;PyMem_Malloc 64\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 4, "report", "folded", p, "--native"), MA_EXIT_OK);
	assert_string_equal(out, "Py_RunMain;outer_py;PyEval_Call;_PyEval_EvalFrameDefault;inner_py;"
				 "list_append 64\n");
	free(out);
	free(err);
	/* Python view: the innermost Python frame owns the memory; the native
	 * frames below it count in total only.  --native: the allocator call. */
	assert_int_equal(run(&out, &err, 3, "report", "summary", p), MA_EXIT_OK);
	expect(out, "            64 100.00%              64 100.00%            1  inner_py  app.py:12\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "report", "summary", "--sort", "total", p), MA_EXIT_OK);
	expect(out, "             0   0.00%              64 100.00%            0  list_append\n");
	free(out);
	free(err);
	/* --native: the allocator call, past the wrapper PyMem_Malloc */
	assert_int_equal(run(&out, &err, 4, "report", "summary", "--native", p), MA_EXIT_OK);
	expect(out, "            64 100.00%              64 100.00%            1  list_append\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 5, "report", "summary", "--native", "--keep-wrappers", p), MA_EXIT_OK);
	expect(out, "            64 100.00%              64 100.00%            1  PyMem_Malloc\n");
	free(out);
	free(err);
	unlink(p);
	free(p);
}

/* With modules known: the interpreter's own frames right inside the
 * innermost Python frame (the module of its eval loop) are left out, an
 * extension's frames and what it calls are kept. */
static void test_python_view_interpreter(void **state)
{
	(void)state;
	char *p = synth_tmpname("pyint");
	synth *s = synth_open(p);
	synth_header(s, 1);
	module(s, "/usr/lib/libpython3.11.so", 0x1000, 0x5000);
	module(s, "/usr/lib/numpy/_multiarray_umath.so", 0x6000, 0x7000);
	uint64_t py = MA_FRAME_PYTHON_BIT;
	uint64_t a[] = { 0x1001, 0x1002, py | 7, 0x4001, 0x4002, py | 8, 0x5001 };
	uint64_t b[] = { 0x1004, 0x6001, 0x6002, 0x1003, py | 9, 0x4001, 0x4002, py | 8, 0x5001 };
	synth_stack(s, 1, 7, a);
	synth_stack(s, 2, 9, b);
	pyframe(s, 7, "inner_py", "app.py", 12);
	pyframe(s, 8, "outer_py", "app.py", 3);
	pyframe(s, 9, "make_zeros", "app.py", 20);
	synth_event(s, 1, MALLOC, 0x10000, 64, 1);
	synth_event(s, 1, MALLOC, 0x20000, 8000000, 2);
	sym(s, 0x1001, "PyMem_Malloc", NULL, 0);
	sym(s, 0x1002, "list_append", NULL, 0);
	sym(s, 0x1003, "PyObject_Vectorcall", NULL, 0);
	sym(s, 0x1004, "PyDataMem_UserNEW", NULL, 0);
	sym(s, 0x4001, "_PyEval_EvalFrameDefault", NULL, 0);
	sym(s, 0x4002, "PyEval_Call", NULL, 0);
	sym(s, 0x5001, "Py_RunMain", NULL, 0);
	sym(s, 0x6001, "PyArray_Zeros", NULL, 0);
	sym(s, 0x6002, "array_zeros", NULL, 0);
	synth_finish(s, 1);
	synth_close(s);
	char *out, *err;
	assert_int_equal(run(&out, &err, 3, "report", "folded", p), MA_EXIT_OK);
	assert_string_equal(out, "outer_py;make_zeros;array_zeros;PyArray_Zeros;PyDataMem_UserNEW 8000000\n"
				 "outer_py;inner_py 64\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, 4, "report", "folded", p, "--native"), MA_EXIT_OK);
	assert_string_equal(out, "Py_RunMain;outer_py;PyEval_Call;_PyEval_EvalFrameDefault;make_zeros;"
				 "PyObject_Vectorcall;array_zeros;PyArray_Zeros;PyDataMem_UserNEW 8000000\n"
				 "Py_RunMain;outer_py;PyEval_Call;_PyEval_EvalFrameDefault;inner_py;"
				 "list_append 64\n");
	free(out);
	free(err);
	unlink(p);
	free(p);
}

/* "not attributed" is RSS at the end minus the tracked live heap, not the
 * RSS at attach (the two were formatted into one buffer). */
static void test_attribution(void **state)
{
	(void)state;
	ma_analysis a;
	ma_sample end;
	memset(&a, 0, sizeof a);
	memset(&end, 0, sizeof end);
	a.attached = 1;
	a.rss_at_start = 24012390;   /* 22.9 MiB */
	end.rss_bytes = 51275366;    /* 48.9 MiB */
	a.samples = &end;
	a.nsamples = 1;
	a.live_bytes = 26703467;     /* 25.5 MiB */
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	ma_report_attribution(&a, f);
	fclose(f);
	expect(out, "RSS at attach 22.9 MiB, at the end 48.9 MiB; tracked live heap 25.5 MiB; "
		    "not attributed 23.4 MiB ");
	assert_null(strstr(out, "note:"));      /* 48% of RSS: no note */
	free(out);
	/* calloc'ed pages never touched: the heap above RSS, said so */
	a.live_bytes = 60000000;
	f = open_memstream(&out, &len);
	ma_report_attribution(&a, f);
	fclose(f);
	expect(out, "not attributed 0 B (");
	expect(out, "note: the tracked heap is above RSS: allocated pages the program has not touched yet");
	free(out);
	/* most of RSS from before the attach */
	a.live_bytes = 1000000;
	f = open_memstream(&out, &len);
	ma_report_attribution(&a, f);
	fclose(f);
	expect(out, "note: most of RSS is not attributed: memory allocated before the attach");
	free(out);
}

static void test_pprof_bytes(void **state)
{
	(void)state;
	char *o = synth_tmpname("pprof");
	char *out, *err;
	assert_int_equal(run(&out, &err, 5, "report", "pprof", cap, "-o", o), MA_EXIT_OK);
	free(out);
	free(err);
	size_t n;
	uint8_t *b = synth_slurp(o, &n);
	assert_true(n > 20);
	assert_int_equal(b[0], 0x1f);       /* gzip */
	assert_int_equal(b[1], 0x8b);
	free(b);
	unlink(o);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_folded),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_filter_late_name),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_python_view),
		cmocka_unit_test(test_python_view_interpreter),
		cmocka_unit_test(test_pprof_bytes),
		cmocka_unit_test(test_attribution),
		cmocka_unit_test(test_base_other_build),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

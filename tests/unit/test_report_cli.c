/* test_report_cli.c — the report command's surface and bad input (issue 11
 * item 6, issue 13 defects 5 and 9): getopt_long abbreviations and "--",
 * --json refused by formats without it, --thread naming no thread, a FIFO
 * as the capture, an empty capture, the incomplete-capture warning. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/util/exit_codes.h"
#include "cli/report/report.h"
#include "report_run.h"
#include "synth.h"

/* Runs ma_report_main; returns the exit code; err gets stderr, out (when
 * not NULL) stdout. */
static int run(char *err, size_t errlen, char **out, int argc, ...)
{
	char *o, *e;
	va_list ap;
	va_start(ap, argc);
	int rc = report_runv(&o, &e, argc, ap);
	va_end(ap);
	snprintf(err, errlen, "%s", e);
	free(e);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

/* 3 allocations of thread 7 ("worker"), one freed; note: the capture
 * trailer's note, NULL for a complete capture. */
static char *make_capture(const char *note, int events)
{
	char *p = synth_tmpname("cli");
	synth *s = synth_open(p);
	synth_header(s, 0);
	uint64_t f[] = { 0x401000, 0x402000 };
	synth_stack(s, 1, 2, f);
	synth_symbol(s, 0x401000, "alloc_here");
	synth_thread(s, 7, "worker");
	for (int i = 0; i < events; i++)
		synth_event(s, 7, MEMATTACH__EVENT_KIND__MALLOC, 0x10000 + 64 * (uint64_t)i, 48, 1);
	if (events)
		synth_event(s, 7, MEMATTACH__EVENT_KIND__FREE, 0x10000, 0, 0);
	if (!note) {
		synth_finish(s, 1);
	} else {
		synth_tick(s, 1 << 20);
		Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
		Memattach__Record r = MEMATTACH__RECORD__INIT;
		ct.complete = 0;
		ct.note = (char *)note;
		r.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
		r.capture_trailer = &ct;
		synth_record(s, &r);
	}
	synth_close(s);
	return p;
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static void expect(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("output lacks '%s':\n%s", needle, text);
}

/* Defect 13.5: the note was said twice ("ended early (ended early)"). */
static void test_incomplete_said_once(void **state)
{
	(void)state;
	char err[4096];
	char *cap = make_capture("the agent's stream ended early", 3);
	assert_int_equal(run(err, sizeof err, NULL, 3, "report", "stats", cap), MA_EXIT_OK);
	expect(err, "warning: the capture is incomplete (the agent's stream ended early)");
	assert_int_equal(count(err, "ended early"), 1);
	unlink(cap);
	free(cap);
}

/* --json where a format has none: refused, its own exit code; summary and
 * tree have one (one object). */
static void test_json_refused(void **state)
{
	(void)state;
	char err[4096];
	char *cap = make_capture(NULL, 3), *out = NULL;
	const char *fmts[] = { "folded", "pprof", "flamegraph" };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(run(err, sizeof err, &out, 4, "report", fmts[i], cap, "--json"), MA_EXIT_NO_JSON);
		expect(err, "has no JSON output");
		assert_int_equal(count(err, "\n"), 1);
		assert_string_equal(out, "");
		free(out);
	}
	const char *json[] = { "summary", "tree" };
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(run(err, sizeof err, &out, 4, "report", json[i], cap, "--json"), MA_EXIT_OK);
		assert_int_equal(out[0], '{');
		free(out);
	}
	unlink(cap);
	free(cap);
}

/* Defect 13.9: --thread naming no thread was an empty report, exit 0. */
static void test_thread_unknown(void **state)
{
	(void)state;
	char err[4096];
	char *cap = make_capture(NULL, 3), *out = NULL;
	assert_int_equal(run(err, sizeof err, &out, 5, "report", "summary", cap, "--thread", "nosuch"), MA_EXIT_USAGE);
	expect(err, "memattach report: --thread nosuch: no such thread");
	free(out);
	assert_int_equal(run(err, sizeof err, &out, 5, "report", "stats", cap, "--thread", "99"), MA_EXIT_USAGE);
	expect(err, "--thread 99: no such thread");
	free(out);
	/* the thread that is there, by name and by id: its 3 allocations */
	assert_int_equal(run(err, sizeof err, &out, 6, "report", "stats", cap, "--thread", "worker", "--json"), MA_EXIT_OK);
	expect(out, "\"total_allocations\": 3,");
	free(out);
	assert_int_equal(run(err, sizeof err, &out, 6, "report", "stats", cap, "--thread", "7", "--json"), MA_EXIT_OK);
	expect(out, "\"total_allocations\": 3,");
	free(out);
	unlink(cap);
	free(cap);
}

/* Defect 13.9: a FIFO blocked in open(); a directory is no capture either. */
static void test_not_regular(void **state)
{
	(void)state;
	char err[4096];
	char *fifo = synth_tmpname("fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(run(err, sizeof err, NULL, 3, "report", "stats", fifo), MA_EXIT_BAD_CAPTURE);
	expect(err, "is not a regular file");
	unlink(fifo);
	free(fifo);
	assert_int_equal(run(err, sizeof err, NULL, 3, "report", "summary", "/"), MA_EXIT_BAD_CAPTURE);
	expect(err, "is not a regular file");
}

/* An empty capture (no events): every format runs (qsort of nothing). */
static void test_empty_capture(void **state)
{
	(void)state;
	char err[4096];
	char *cap = make_capture(NULL, 0), *out = NULL;
	assert_int_equal(run(err, sizeof err, &out, 4, "report", "stats", cap, "--json"), MA_EXIT_OK);
	expect(out, "\"total_allocations\": 0,");
	free(out);
	assert_int_equal(run(err, sizeof err, &out, 3, "report", "summary", cap), MA_EXIT_OK);
	free(out);
	assert_int_equal(run(err, sizeof err, &out, 3, "report", "tree", cap), MA_EXIT_OK);
	free(out);
	unlink(cap);
	free(cap);
}

/* getopt_long: unambiguous abbreviations, --opt=value, options after the
 * operands, and "--" before a capture whose name begins with '-'. */
static void test_getopt(void **state)
{
	(void)state;
	char err[4096], dir[] = "/tmp/ma-unit-cli-XXXXXX", cwd[4096];
	char *cap = make_capture(NULL, 3), *full = NULL, *abbr = NULL, *dash = NULL;
	assert_int_equal(run(err, sizeof err, &full, 8, "report", "stats", cap, "--json", "--top", "3",
			     "--frames", "2"), MA_EXIT_OK);
	assert_int_equal(run(err, sizeof err, &abbr, 6, "report", "--js", "--top=3", "stats", cap, "--fr=2"),
			 MA_EXIT_OK);
	assert_string_equal(full, abbr);
	/* --to is --top or --total */
	assert_int_equal(run(err, sizeof err, NULL, 6, "report", "stats", cap, "--json", "--to", "3"), MA_EXIT_USAGE);
	expect(err, "ambiguous option '--to'");
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(rename(cap, "-x.cap"), 0);
	assert_int_equal(run(err, sizeof err, &dash, 9, "report", "stats", "--json", "--top", "3",
			     "--frames", "2", "--", "-x.cap"), MA_EXIT_OK);
	/* the same report but for the capture's name */
	assert_non_null(strstr(dash, "\"capture\": \"-x.cap\""));
	assert_string_equal(strstr(full, "\"pid\""), strstr(dash, "\"pid\""));
	assert_int_equal(run(err, sizeof err, NULL, 4, "report", "stats", "-x.cap", "--json"), MA_EXIT_USAGE);
	expect(err, "unknown option '-x'");
	unlink("-x.cap");
	assert_int_equal(chdir(cwd), 0);
	rmdir(dir);
	free(full);
	free(abbr);
	free(dash);
	free(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_incomplete_said_once),
		cmocka_unit_test(test_json_refused),
		cmocka_unit_test(test_thread_unknown),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_empty_capture),
		cmocka_unit_test(test_getopt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

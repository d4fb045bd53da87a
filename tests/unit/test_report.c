/* test_report.c — `memattach report stats` end to end on synthetic
 * captures: JSON keys and values, text, warnings and exit codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/util/exit_codes.h"
#include "record_io.h"
#include "cli/report/report.h"
#include "synth.h"

/* Runs ma_report_main with stderr captured; returns the exit code. */
static int run(char *err_out, size_t errlen, int argc, ...)
{
	char *argv[16];
	va_list ap;
	va_start(ap, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(ap, char *);
	va_end(ap);
	argv[argc] = NULL;
	char *ep = synth_tmpname("stderr");
	fflush(stderr);
	int saved = dup(2);
	int fd = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	int rc = ma_report_main(argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size_t n;
	uint8_t *b = synth_slurp(ep, &n);
	snprintf(err_out, errlen, "%.*s", (int)n, (char *)b);
	free(b);
	unlink(ep);
	free(ep);
	return rc;
}

static char *make_capture(int finish)
{
	char *p = synth_tmpname("rep");
	synth *s = synth_open(p);
	synth_header(s, 0);
	uint64_t f[] = { 0x401000, 0x402000, 0x403000 };
	synth_stack(s, 1, 3, f);
	synth_stack(s, 2, 1, f + 2);
	synth_symbol(s, 0x402000, "leaky_function");
	synth_thread(s, 1, "main");
	for (int i = 0; i < 100; i++)
		synth_event(s, 1, MEMATTACH__EVENT_KIND__MALLOC, 0x10000 + 64 * (uint64_t)i, 40, 1);
	synth_event(s, 2, MEMATTACH__EVENT_KIND__CALLOC, 0x90000, 1000, 2);
	for (int i = 0; i < 90; i++)
		synth_event(s, 1, MEMATTACH__EVENT_KIND__FREE, 0x10000 + 64 * (uint64_t)i, 0, 0);
	synth_event(s, 1, MEMATTACH__EVENT_KIND__FREE, 0x123, 0, 0);
	synth_event(s, 1, MEMATTACH__EVENT_KIND__MMAP, 0x7f0000000000ull, 8192, 2);
	synth_tick(s, 1 << 20);
	synth_event(s, 1, MEMATTACH__EVENT_KIND__MUNMAP, 0x7f0000000000ull, 8192, 2);
	if (finish)
		synth_finish(s, 1);
	else {
		synth_flush_thread(s, 1);
		synth_flush_file(s);
	}
	synth_close(s);
	return p;
}

static void expect(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("output lacks '%s':\n%s", needle, text);
}

static void test_stats_json(void **state)
{
	(void)state;
	char *cap = make_capture(1);
	char *out = synth_tmpname("json");
	char err[4096];
	assert_int_equal(run(err, sizeof err, 6, "report", "stats", cap, "--json", "-o", out), MA_EXIT_OK);
	assert_string_equal(err, "");
	size_t n;
	char *j = (char *)synth_slurp(out, &n);
	j[n] = 0;
	expect(j, "\"total_allocations\": 102,");
	expect(j, "\"total_frees\": 91,");
	expect(j, "\"total_bytes_allocated\": 13192,");
	expect(j, "\"peak_bytes\": 9592,");
	expect(j, "\"peak_blocks\": 12,");
	expect(j, "\"leaked_bytes\": 1400,");
	expect(j, "\"leaked_allocations\": 11,");
	expect(j, "\"untracked_frees\": 1,");
	expect(j, "\"truncated\": false,");
	expect(j, "\"peak_time_ns\": 193000,");
	expect(j, "\"malloc\": {\n      \"count\": 100,\n      \"bytes\": 4000\n    }");
	expect(j, "\"calloc\": {\n      \"count\": 1,\n      \"bytes\": 1000\n    }");
	expect(j, "\"mmap\": {\n      \"count\": 1,\n      \"bytes\": 8192\n    }");
	expect(j, "\"min\": 32,\n      \"max\": 63,\n      \"count\": 100");
	expect(j, "\"min\": 512,\n      \"max\": 1023,\n      \"count\": 1");
	expect(j, "\"name\": \"leaky_function (/usr/bin/synth)\"");
	expect(j, "\"pid\": 4242");
	expect(j, "\"command\": \"synth --test\"");
	assert_null(strstr(j, "\"free\": {"));      /* only allocation kinds */
	free(j);

	/* text goes to stdout by default; here to a file */
	assert_int_equal(run(err, sizeof err, 5, "report", "stats", cap, "-o", out), MA_EXIT_OK);
	j = (char *)synth_slurp(out, &n);
	j[n] = 0;
	expect(j, "Allocations:       102");
	expect(j, "Untracked frees:   1");
	expect(j, "Peak:              9.37 KiB (9592 B) in 12 blocks at 0.000 s (seq 192)");
	expect(j, "Live at end:       1.37 KiB (1400 B) in 11 blocks");
	expect(j, "leaky_function");
	expect(j, "0x401000");
	expect(j, "[32 B, 64 B)");
	expect(j, "[8 KiB, 16 KiB)");
	free(j);
	unlink(out);
	free(out);
	unlink(cap);
	free(cap);
}

static void test_truncated_warns(void **state)
{
	(void)state;
	char *cap = make_capture(0);
	char *out = synth_tmpname("tjson");
	char err[4096];
	assert_int_equal(run(err, sizeof err, 6, "report", "stats", cap, "--json", "-o", out), MA_EXIT_OK);
	expect(err, "warning: capture is truncated (");
	expect(err, "reports cover what was recorded up to");
	assert_non_null(strchr(err, '\n'));
	assert_true(strchr(err, '\n') == err + strlen(err) - 1);   /* one line */
	size_t n;
	char *j = (char *)synth_slurp(out, &n);
	j[n] = 0;
	expect(j, "\"truncated\": true,");
	expect(j, "\"total_allocations\": 102,");
	expect(j, "\"leaked_bytes\": 1400,");
	free(j);
	unlink(out);
	free(out);
	unlink(cap);
	free(cap);
}

static void test_errors(void **state)
{
	(void)state;
	char err[4096];
	char *cap = make_capture(1);
	assert_int_equal(run(err, sizeof err, 3, "report", "stats", "/nonexistent.cap"), MA_EXIT_BAD_CAPTURE);
	expect(err, "/nonexistent.cap");
	assert_int_equal(run(err, sizeof err, 3, "report", "pie-chart", cap), MA_EXIT_USAGE);
	expect(err, "unknown format 'pie-chart'");
	expect(err, "stats");
	assert_int_equal(run(err, sizeof err, 2, "report", "stats"), MA_EXIT_USAGE);
	assert_int_equal(run(err, sizeof err, 4, "report", "stats", cap, "--frobnicate"), MA_EXIT_USAGE);
	expect(err, "unknown option '--frobnicate'");
	assert_int_equal(run(err, sizeof err, 4, "report", "stats", cap, cap), MA_EXIT_USAGE);
	assert_int_equal(run(err, sizeof err, 5, "report", "stats", cap, "-o", "/nonexistent/dir/out"),
			 MA_EXIT_OUTPUT);
	expect(err, "cannot write /nonexistent/dir/out");
	struct stat st;
	if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
		assert_int_equal(run(err, sizeof err, 5, "report", "stats", cap, "-o", "/dev/full"),
				 MA_EXIT_OUTPUT);
		expect(err, "No space left on device");
		assert_int_equal(stat("/dev/full", &st), 0);
		assert_true(S_ISCHR(st.st_mode));       /* still the device */
	}
	/* not a capture; corrupt */
	char *txt = synth_tmpname("txt");
	synth_spit(txt, (const uint8_t *)"just some text\n", 15);
	assert_int_equal(run(err, sizeof err, 3, "report", "stats", txt), MA_EXIT_BAD_CAPTURE);
	expect(err, "not a memattach capture");
	unlink(txt);
	free(txt);
	size_t n;
	uint8_t *b = synth_slurp(cap, &n);
	for (size_t i = 20; i < n; i++)
		b[i] ^= 0x5a;
	char *bad = synth_tmpname("bad");
	synth_spit(bad, b, n);
	free(b);
	char *out = synth_tmpname("badout");
	assert_int_equal(run(err, sizeof err, 5, "report", "stats", bad, "-o", out), MA_EXIT_BAD_CAPTURE);
	expect(err, "corrupt capture at compressed byte");
	assert_int_equal(access(out, F_OK), -1);   /* no half report left */
	free(out);
	unlink(bad);
	free(bad);
	unlink(cap);
	free(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stats_json),
		cmocka_unit_test(test_truncated_warns),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* report.h — `memattach report FORMAT FILE [options]`, and what each report
 * format (one file per format: report_stats.c, ...) gets to work with. */
#ifndef MEMATTACH_REPORT_H
#define MEMATTACH_REPORT_H

#include <stdint.h>
#include <stdio.h>

/* argv[0] = "report", argv[1] = format, then the capture file and options.
 * Returns an exit code from exit_codes.h. */
int ma_report_main(int argc, char **argv);

/* Prints the report usage to f (for `memattach --help`). */
void ma_report_usage(FILE *f);

/* ---- for report formats ---- */

struct ma_analysis;

typedef struct ma_report_args {
	const char *format;
	const char *capture;     /* the capture file */
	const char *output;      /* -o OUT, NULL: stdout */
	int json;                /* --json */
	unsigned top;            /* --top N (default 10) */
	unsigned frames;         /* --frames N: frames shown per stack (default 6) */
	FILE *out;               /* where the report goes */
} ma_report_args;

typedef struct ma_report_format {
	const char *name;
	const char *help;
	/* Writes the report to args->out; returns an exit code. */
	int (*run)(const ma_report_args *args);
} ma_report_format;

/* Replays args->capture into a new analysis; prints the one-line error or
 * the truncation warning on stderr.  Returns MA_EXIT_OK and *out, or an
 * exit code. */
int ma_report_analyze(const ma_report_args *args, struct ma_analysis **out);

/* "12.3 MiB" (binary units, 3 significant digits; exact below 1 KiB). */
const char *ma_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* "1,234,567". */
const char *ma_fmt_count(uint64_t n, char *buf, size_t len);
/* "12.345 s". */
const char *ma_fmt_seconds(uint64_t ns, char *buf, size_t len);

/* Stack indices sorted by a key, descending, at most n; returns the count.
 * by: 0 = bytes allocated, 1 = allocations, 2 = bytes live at the end,
 * 3 = bytes live at the peak. */
size_t ma_top_stacks(const struct ma_analysis *a, int by, size_t n, uint32_t *idx);

int ma_report_stats(const ma_report_args *args);

#endif

/* fuzz_capture — libFuzzer harness of the capture reader: arbitrary bytes
 * as a capture file (a memfd, so nothing touches the disk) go through the
 * reader, the replay, the analysis and the report formats.  Whatever the
 * bytes, the reports end with an exit code and a message, never a crash,
 * a leak or undefined behaviour (ASan, UBSan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli/report/report.h"

static FILE *sink;

static void run(int (*fmt)(const ma_report_args *), const char *path, int json, ma_metric m)
{
	ma_report_args args = { 0 };
	args.format = "fuzz";
	args.capture = path;
	args.json = json;
	args.top = 10;
	args.frames = 6;
	args.out = sink;
	ma_report_opts_init(&args.opts);
	args.opts.metric = m;
	fmt(&args);
	rewind(sink);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sink && !(sink = fopen("/dev/null", "w")))
		abort();
	int fd = memfd_create("capture", MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	/* One format an input (each reads the whole capture again): which
	 * one follows the size, so mutations visit them all. */
	switch (size % 6) {
	case 0: run(ma_report_stats, path, 1, MA_METRIC_PEAK); break;
	case 1: run(ma_report_summary, path, 0, MA_METRIC_LEAKS); break;
	case 2: run(ma_report_tree, path, 0, MA_METRIC_PEAK); break;
	case 3: run(ma_report_folded, path, 0, MA_METRIC_TOTAL); break;
	case 4: run(ma_report_pprof, path, 0, MA_METRIC_PEAK); break;
	default: run(ma_report_stats, path, 0, MA_METRIC_PEAK);
		run(ma_report_flamegraph, path, 0, MA_METRIC_PEAK); break;
	}
	close(fd);
	return 0;
}

/* report_cmd.c — `memattach report FORMAT CAPTURE [options]`: its options
 * (getopt_long over the table in cli_table.c), then cli/report does the rest. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "cli/cmd/cli_table.h"
#include "cli/report/report.h"
#include "cli/util/exit_codes.h"

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "memattach report: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see memattach report --help)\n");
	return MA_EXIT_USAGE;
}

static int unknown_format(const char *name)
{
	char names[256] = "";
	size_t n;
	const ma_report_format *f = ma_report_formats(&n);
	for (size_t i = 0; i < n; i++) {
		strncat(names, f[i].name, sizeof names - strlen(names) - 1);
		if (i + 1 < n)
			strncat(names, ", ", sizeof names - strlen(names) - 1);
	}
	fprintf(stderr, "memattach report: unknown format '%s' (formats: %s)\n", name, names);
	return MA_EXIT_USAGE;
}

/* Options and operands in any order (getopt_long permutes; after "--"
 * everything is an operand): FORMAT, then CAPTURE.  -1 to go on, else
 * the exit code. */
static int parse(int argc, char **argv, ma_report_args *args)
{
	char err[512];
	int c;
	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_report, argc, argv)) != -1) {
		if (c == '?')
			return MA_EXIT_USAGE;
		if (c == MA_KEY_HELP) {
			ma_cli_help(stdout, &ma_cli_report);
			return MA_EXIT_OK;
		}
		if (c == MA_KEY_OUTPUT) {
			if (!*optarg)
				return usage_error("%s needs a file name", "-o");
			args->output = optarg;
		} else if (ma_report_set_option(args, c, optarg, err, sizeof err) < 0) {
			fprintf(stderr, "memattach report: %s\n", err);
			return MA_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ma_cli_usage(stderr, &ma_cli_report);
		return MA_EXIT_USAGE;
	}
	args->format = argv[optind++];
	if (optind < argc)
		args->capture = argv[optind++];
	if (optind < argc)
		return usage_error("one capture file at a time ('%s' is one too many)", argv[optind]);
	return -1;
}

int ma_report_main(int argc, char **argv)
{
	ma_report_args args = { .top = 10, .frames = 6 };
	ma_report_opts_init(&args.opts);
	int rc = parse(argc, argv, &args);
	const ma_report_format *fmt = NULL;
	if (rc < 0 && !(fmt = ma_report_format_find(args.format)))
		rc = unknown_format(args.format);
	else if (rc < 0 && !args.capture)
		rc = usage_error("which capture? give the capture file after '%s'", args.format);
	else if (rc < 0)
		rc = ma_report_run(fmt, &args);
	ma_report_opts_free(&args.opts);   /* the --wrapper regex */
	return rc;
}

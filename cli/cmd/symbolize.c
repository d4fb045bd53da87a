/* symbolize.c — `memattach symbolize CAPTURE [-o OUT]`: adds the symbols a
 * capture lacks (its writer was killed, the disk filled up) from the module
 * files of this machine, build ids checked.  The new capture is written
 * beside the target name and renamed into place (the capture writer's
 * outfile): CAPTURE is replaced only when the whole copy succeeded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/report/report.h"
#include "cli/symbols/capture_root.h"
#include "cli/symbols/resymbolize.h"
#include "cli/util/exit_codes.h"

int ma_symbolize_main(int argc, char **argv)
{
	const char *out = NULL, *root = NULL;
	int c;
	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_symbolize, argc, argv)) != -1) {
		if (c == MA_KEY_OUTPUT)
			out = optarg;
		else if (c == MA_RKEY_ROOT)
			root = optarg;
		else if (c == MA_KEY_HELP)
			return ma_cli_help(stdout, &ma_cli_symbolize), MA_EXIT_OK;
		else
			return MA_EXIT_USAGE;   /* said by ma_cli_getopt */
	}
	if (optind != argc - 1)
		return ma_cli_usage(stderr, &ma_cli_symbolize), MA_EXIT_USAGE;
	const char *in = argv[optind];
	const char *dest = out ? out : in;
	char err[600];
	struct ma_symbol_root sr;
	if (ma_symbol_root_choose(in, root, &sr, err, sizeof err) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		return MA_EXIT_USAGE;
	}
	long n = ma_resymbolize(in, dest, 1, sr.prefix, err, sizeof err);
	if (n < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		return n == MA_RESYM_BAD_INPUT ? MA_EXIT_BAD_CAPTURE : MA_EXIT_OUTPUT;
	}
	fprintf(stderr, "memattach: %ld symbol%s added, written to %s", n, n == 1 ? "" : "s", dest);
	if (sr.other)
		fprintf(stderr, " (read %s)", sr.from);
	fputc('\n', stderr);
	return MA_EXIT_OK;
}

/* symbolize.c — `memattach symbolize CAPTURE [-o OUT]`: adds the symbols a
 * capture lacks (its writer was killed, the disk filled up) from the module
 * files of this machine, build ids checked.  The new capture is written
 * beside the target name and renamed into place: CAPTURE is replaced only
 * when the whole copy succeeded. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/symbols/resymbolize.h"
#include "cli/util/exit_codes.h"

/* A new name in dest's directory for the copy: dest.symbolize-XXXXXX
 * (created empty by mkstemp, so nobody else holds the name). */
static char *temp_beside(const char *dest)
{
	size_t n = strlen(dest) + 32;
	char *t = malloc(n);
	if (!t)
		return NULL;
	snprintf(t, n, "%s.symbolize-XXXXXX", dest);
	int fd = mkstemp(t);
	if (fd < 0) {
		free(t);
		return NULL;
	}
	close(fd);
	return t;
}

int ma_symbolize_main(int argc, char **argv)
{
	const char *out = NULL;
	int c;
	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_symbolize, argc, argv)) != -1) {
		if (c == MA_KEY_OUTPUT)
			out = optarg;
		else if (c == MA_KEY_HELP)
			return ma_cli_help(stdout, &ma_cli_symbolize), MA_EXIT_OK;
		else
			return MA_EXIT_USAGE;   /* said by ma_cli_getopt */
	}
	if (optind != argc - 1)
		return ma_cli_usage(stderr, &ma_cli_symbolize), MA_EXIT_USAGE;
	const char *in = argv[optind];
	const char *dest = out ? out : in;
	char *tmp = temp_beside(dest);
	if (!tmp) {
		fprintf(stderr, "memattach: cannot create a file beside %s: %s; choose a writable -o\n",
			dest, strerror(errno));
		return MA_EXIT_OUTPUT;
	}
	char err[600];
	long n = ma_resymbolize(in, tmp, 1, err, sizeof err);
	if (n < 0 || rename(tmp, dest) < 0) {
		if (n >= 0)
			snprintf(err, sizeof err, "cannot rename %s to %s: %s", tmp, dest, strerror(errno));
		fprintf(stderr, "memattach: %s\n", err);
		unlink(tmp);
		free(tmp);
		return n == MA_RESYM_BAD_INPUT ? MA_EXIT_BAD_CAPTURE : MA_EXIT_OUTPUT;
	}
	fprintf(stderr, "memattach: %ld symbol%s added, written to %s\n", n, n == 1 ? "" : "s", dest);
	free(tmp);
	return MA_EXIT_OK;
}

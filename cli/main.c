/* main.c — memattach's entry: dispatch to run, report or attach. */
#include <stdio.h>
#include <string.h>
#include "cli/cmd/commands.h"
#include "config.h"
#include "cli/util/exit_codes.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: memattach --pid PID [--duration TIME] [-o FILE] [--native-depth N] [--quiet]\n"
		"       memattach run [-o FILE] [--native-depth N] [-q] -- CMD [ARGS...]\n"
		"       memattach report FORMAT FILE [options]   (FORMAT: stats)\n"
		"       memattach symbolize CAPTURE [-o OUT]\n"
		"       memattach --version | --help\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return MA_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return ma_run_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return ma_report_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "receive"))
		return ma_receive_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "symbolize"))
		return ma_symbolize_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return MA_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("memattach %s\n", PACKAGE_VERSION);
		return MA_EXIT_OK;
	}
	return ma_attach_main(argc, argv);
}

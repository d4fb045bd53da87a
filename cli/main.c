/* main.c — memattach's entry: dispatch to run, report, symbolize or attach. */
#include <stdio.h>
#include <string.h>
#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/util/exit_codes.h"

int main(int argc, char **argv)
{
	if (argc < 2) {
		ma_cli_help_all(stderr);
		return MA_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return ma_run_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "live"))
		return ma_live_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "report"))
		return ma_report_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "receive"))
		return ma_receive_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "symbolize"))
		return ma_symbolize_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--man")) {   /* memattach.1 is this output */
		ma_cli_man(stdout);
		return MA_EXIT_OK;
	}
	return ma_attach_main(argc, argv);
}

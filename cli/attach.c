/* attach.c — `memattach --pid PID`: attach to a running process. */
#include <stdio.h>
#include "cli.h"
#include "exit_codes.h"

int ma_attach_main(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "memattach: unknown command '%s' (see memattach --help)\n", argv[1]);
	return MA_EXIT_USAGE;
}

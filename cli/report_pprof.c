/* report_pprof.c — placeholder, being written. */
#include "exit_codes.h"
#include "report.h"

int ma_report_pprof(const ma_report_args *args)
{
	(void)args;
	return MA_EXIT_ERROR;
}

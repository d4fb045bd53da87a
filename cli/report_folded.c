/* report_folded.c — placeholder, being written. */
#include "exit_codes.h"
#include "report.h"

int ma_report_folded(const ma_report_args *args)
{
	(void)args;
	return MA_EXIT_ERROR;
}

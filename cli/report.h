/* report.h — `memattach report FORMAT FILE [options]`. */
#ifndef MEMATTACH_REPORT_H
#define MEMATTACH_REPORT_H

/* argv[0] = "report", argv[1] = format, then the capture file and options.
 * Returns an exit code from exit_codes.h. */
int ma_report_main(int argc, char **argv);

/* Prints the report usage to f (for `memattach --help`). */
#include <stdio.h>
void ma_report_usage(FILE *f);

#endif

/* report_run.h — ma_report_main as the report tests run it. */
#ifndef MA_TEST_REPORT_RUN_H
#define MA_TEST_REPORT_RUN_H

#include <stdarg.h>

/* Runs ma_report_main on argc arguments from ap with stdout and stderr in
 * files; returns its exit code, stdout in *out and stderr in *err
 * (NUL-terminated; the caller frees both).  A report that blocks (a FIFO)
 * is killed by SIGALRM after 20 s instead of hanging. */
int report_runv(char **out, char **err, int argc, va_list ap);

#endif

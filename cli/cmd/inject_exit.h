/* inject_exit.h — the exit code of memattach for an injector error. */
#ifndef MEMATTACH_INJECT_EXIT_H
#define MEMATTACH_INJECT_EXIT_H

#include "injector/injector.h"

/* cli/util/exit_codes.h's enum ma_exit value for err (MA_EXIT_ERROR when
 * err is NULL or its code unknown). */
int ma_inject_exit_code(const struct ma_inj_error *err);

#endif

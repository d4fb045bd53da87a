/* errors.c — error reporting: the injector's own codes (injector.h) and
 * one-line messages; callers map the codes to theirs. */
#include "config.h"
#include "injector/inj_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ma_inj_fail(struct ma_inj_error *err, int code, int sys_errno, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	err->sys_errno = sys_errno;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

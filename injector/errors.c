/* errors.c — error reporting and the mapping to memattach's exit codes. */
#include "config.h"
#include "injector/inj_internal.h"
#include "cli/util/exit_codes.h"

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

int ma_inj_exit_code(const struct ma_inj_error *err)
{
	switch (err ? err->code : MA_INJ_ERR_SYSTEM) {
	case MA_INJ_OK: return MA_EXIT_OK;
	case MA_INJ_ERR_NO_PROCESS: return MA_EXIT_NO_PROCESS;
	case MA_INJ_ERR_ZOMBIE: return MA_EXIT_ZOMBIE;
	case MA_INJ_ERR_KERNEL_THREAD: return MA_EXIT_KERNEL_THREAD;
	case MA_INJ_ERR_SELF: return MA_EXIT_SELF;
	case MA_INJ_ERR_NOT_PERMITTED: return MA_EXIT_NOT_PERMITTED;
	case MA_INJ_ERR_STATIC: return MA_EXIT_STATIC;
	case MA_INJ_ERR_NO_LIBRARY: return MA_EXIT_NO_AGENT;
	case MA_INJ_ERR_NO_SAFE_POINT:
	case MA_INJ_ERR_SYMBOL:
	case MA_INJ_ERR_DLOPEN:
	case MA_INJ_ERR_CALL: return MA_EXIT_INJECT_FAILED;
	case MA_INJ_ERR_TARGET_GONE: return MA_EXIT_TARGET_GONE;
	default: return MA_EXIT_ERROR;
	}
}

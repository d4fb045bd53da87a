/* inject_exit.c — the injector has its own error codes (it is a library);
 * this is where memattach turns them into its documented exit codes. */
#include "config.h"
#include "cli/cmd/inject_exit.h"
#include "cli/util/exit_codes.h"

int ma_inject_exit_code(const struct ma_inj_error *err)
{
	switch (err ? err->code : MA_INJ_ERR_SYSTEM) {
	case MA_INJ_OK: return MA_EXIT_OK;
	case MA_INJ_ERR_NO_PROCESS: return MA_EXIT_NO_PROCESS;
	case MA_INJ_ERR_ZOMBIE: return MA_EXIT_ZOMBIE;
	case MA_INJ_ERR_KERNEL_THREAD: return MA_EXIT_KERNEL_THREAD;
	case MA_INJ_ERR_SELF: return MA_EXIT_SELF;
	case MA_INJ_ERR_NOT_PERMITTED: return MA_EXIT_NOT_PERMITTED;
	case MA_INJ_ERR_STATIC: return MA_EXIT_STATIC;
	case MA_INJ_ERR_NO_LIBRARY:
	case MA_INJ_ERR_SECCOMP: return MA_EXIT_NO_AGENT;
	case MA_INJ_ERR_NO_SAFE_POINT:
	case MA_INJ_ERR_SYMBOL:
	case MA_INJ_ERR_DLOPEN:
	case MA_INJ_ERR_CALL: return MA_EXIT_INJECT_FAILED;
	case MA_INJ_ERR_TARGET_GONE: return MA_EXIT_TARGET_GONE;
	case MA_INJ_ERR_LIMIT: return MA_EXIT_TARGET_LIMIT;
	default: return MA_EXIT_ERROR;
	}
}

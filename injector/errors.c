/* errors.c — error reporting: the injector's own codes (injector.h) and
 * one-line messages; callers map the codes to theirs. */
#include "config.h"
#include "injector/inj_internal.h"

#include <errno.h>
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

/* ENOMEM / EAGAIN are the target's limits; anything else is our call's
 * fault.  Called once nothing of the attach is left in the target. */
int ma_inj_page_failed(struct ma_inj_error *err, pid_t pid, int e)
{
	if (e != ENOMEM && e != EAGAIN)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, e, "mmap in process %d failed: %s",
				   (int)pid, strerror(e));
	return ma_inj_fail(err, MA_INJ_ERR_LIMIT, e,
			   "process %d could not map one page for the attach (mmap: %s): it is at its "
			   "address-space limit (RLIMIT_AS) or out of memory; nothing was loaded and it "
			   "runs on; raise its limit, then attach again", (int)pid, strerror(e));
}

int ma_inj_thread_failed(struct ma_inj_error *err, pid_t pid, int e)
{
	if (e != ENOMEM && e != EAGAIN)
		return ma_inj_fail(err, MA_INJ_ERR_CALL, e, "pthread_create in process %d failed: %s",
				   (int)pid, strerror(e));
	return ma_inj_fail(err, MA_INJ_ERR_LIMIT, e,
			   "process %d could not start a thread for the attach (pthread_create: %s): it "
			   "is at its thread limit (RLIMIT_NPROC, its cgroup's pids.max) or out of "
			   "memory; nothing was loaded and it runs on; raise its limit, then attach again",
			   (int)pid, strerror(e));
}

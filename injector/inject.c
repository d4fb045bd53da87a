/* inject.c — the whole job: dlopen a library in the target and call its
 * entry point, with the target stopped as briefly as possible. */
#include "config.h"
#include "injector/inj_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 10000
#define SAFE_POINT_MS 2000

static int run_calls(struct ma_inj *inj, const struct ma_inj_syms *syms, const char *so_path,
		     const char *entry_symbol, const char *arg, long *entry_result,
		     struct ma_inj_error *err)
{
	unsigned long a[2], handle, entry, ret, s_path, s_entry, s_arg = 0;
	int rc;

	if (!(s_path = ma_inj_push_string(inj, so_path, err)) ||
	    !(s_entry = ma_inj_push_string(inj, entry_symbol, err)) ||
	    (arg && !(s_arg = ma_inj_push_string(inj, arg, err))))
		return err ? err->code : MA_INJ_ERR_CALL;
	a[0] = s_path;
	a[1] = RTLD_NOW | syms->dlopen_flag;
	if ((rc = ma_inj_call(inj, syms->dlopen, a, 2, &handle, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (!handle) {
		char msg[400] = "no message (dlerror not available)";
		unsigned long m = 0;

		if (syms->dlerror && ma_inj_call(inj, syms->dlerror, NULL, 0, &m, CALL_TIMEOUT_MS, NULL) == 0 &&
		    m)
			ma_inj_read_string(inj, m, msg, sizeof(msg));
		return ma_inj_fail(err, MA_INJ_ERR_DLOPEN, 0, "dlopen(%s) failed in process %d: %s",
				   so_path, (int)inj->pid, msg);
	}
	a[0] = handle;
	a[1] = s_entry;
	if ((rc = ma_inj_call(inj, syms->dlsym, a, 2, &entry, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (!entry)
		return ma_inj_fail(err, MA_INJ_ERR_SYMBOL, 0,
				   "%s has no symbol %s (loaded in process %d): wrong library?", so_path,
				   entry_symbol, (int)inj->pid);
	a[0] = s_arg;
	if ((rc = ma_inj_call(inj, entry, a, 1, &ret, CALL_TIMEOUT_MS, err)) != 0)
		return rc;
	if (entry_result)
		*entry_result = (long)(int)ret;   /* the entry returns an int */
	return 0;
}

int ma_inject_library_stats(pid_t pid, const char *so_path, const char *entry_symbol,
			    const char *arg, long *entry_result,
			    struct ma_inj_stats *stats, struct ma_inj_error *err)
{
	double t0 = ma_inj_now_ms(), t_seize = 0;
	char path[PATH_MAX + 64];
	struct ma_inj_syms syms;
	struct ma_inj *inj = NULL;
	int rc;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!so_path || so_path[0] != '/' || !entry_symbol)
		return ma_inj_fail(err, MA_INJ_ERR_NO_LIBRARY, EINVAL,
				   "the library path must be absolute (got %s)", so_path ? so_path : "none");
	if ((rc = ma_inj_check_target(pid, err)) != 0)
		return rc;
	/* The target opens so_path in its own mount namespace. */
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pid, so_path);
	if (access(path, R_OK) != 0)
		return ma_inj_fail(err, MA_INJ_ERR_NO_LIBRARY, errno,
				   "%s is not visible to process %d (%s): place it where the process "
				   "can read it (containers: inside its root)", so_path, (int)pid,
				   strerror(errno));
	if (stats)
		stats->already_loaded = ma_inj_library_loaded(pid, so_path) == 1;
	/* everything that needs no stop is done before the seize */
	if ((rc = ma_inj_resolve_loader(pid, &syms, err)) != 0)
		return rc;
	if ((rc = ma_inj_seize(pid, 0, &inj, err)) != 0)
		return rc;
	t_seize = ma_inj_now_ms();
	rc = ma_inj_find_safe_point(inj, SAFE_POINT_MS, err);
	if (rc == 0)
		rc = run_calls(inj, &syms, so_path, entry_symbol, arg, entry_result, err);
	if (stats) {
		stats->attempts = inj->attempts;
		stats->tid = inj->tid;
	}
	if (ma_inj_release(inj) && rc == 0)
		rc = ma_inj_fail(err, MA_INJ_ERR_TARGET_GONE, errno,
				 "could not restore process %d after the injection", (int)pid);
	if (stats) {
		stats->stopped_ms = ma_inj_now_ms() - t_seize;
		stats->total_ms = ma_inj_now_ms() - t0;
	}
	return rc;
}

int ma_inject_library(pid_t pid, const char *so_path, const char *entry_symbol,
		      const char *arg, long *entry_result, struct ma_inj_error *err)
{
	return ma_inject_library_stats(pid, so_path, entry_symbol, arg, entry_result, NULL, err);
}

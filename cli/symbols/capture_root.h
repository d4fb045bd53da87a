/* capture_root.h — at report time, where a capture's target's files are:
 * the root the user names (--root DIR), else the recorded one
 * (target_root.h): /proc/PID/root while the same process runs, then the
 * recorded host path; a capture of a process in our root uses this
 * machine's files. */
#ifndef MEMATTACH_CAPTURE_ROOT_H
#define MEMATTACH_CAPTURE_ROOT_H

#include <limits.h>
#include <stddef.h>

struct ma_symbol_root {
	char prefix[PATH_MAX];   /* prepended to the module paths; "" none */
	char from[PATH_MAX + 128];   /* for the notes: "through the target's root X (recorded)" */
	int other;               /* a root was recorded or given (else a process of ours) */
};

/* Chooses the root for capture (user_root: --root, or NULL) and makes it
 * the one target_files.c opens files under.  0; -1 with a one-line
 * message when user_root is not a directory. */
int ma_symbol_root_choose(const char *capture, const char *user_root, struct ma_symbol_root *out,
			  char *err, size_t errlen);

#endif

/* target_root.h — a target whose root is not memattach's (a chroot, a
 * container's own mount namespace): where its root can be found from here
 * later, recorded at the start of the capture (a TargetIds record with the
 * root_* fields, proto/memattach.proto), so that symbols read at report
 * time come from the target's files, not from this machine's of the same
 * name. */
#ifndef MEMATTACH_TARGET_ROOT_H
#define MEMATTACH_TARGET_ROOT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/capture/capture_file.h"

struct ma_target_root {
	pid_t pid;                  /* in our pid namespace; 0: nothing recorded */
	uint64_t start_ticks;       /* /proc/PID/stat starttime */
	char boot_id[40];           /* this boot's (pid and ticks start over) */
	char host_path[PATH_MAX];   /* the root as our path, "" when none found */
	/* its executable as it names it in its root ("" unknown): an agent
	 * without /proc in that root cannot name its main program's module */
	char exe[PATH_MAX];
};

/* 1 with r filled when pid's root is not ours, 0 when it is (or pid is
 * gone).  host_path: readlink /proc/PID/root, or a mount point of ours
 * over the same directory (a container's overlay root mounted here),
 * each checked by device and inode against /proc/PID/root. */
int ma_target_root_describe(pid_t pid, struct ma_target_root *r);

/* Writes r as a TargetIds record to w, or when on_record is set hands it
 * there (packed, unframed, as target_ids.c does).  0, or -1. */
int ma_target_root_write(const struct ma_target_root *r, ma_capture_writer *w,
			 int (*on_record)(void *ctx, const uint8_t *rec, size_t len), void *ctx);

/* The capture's recorded root: 1 (r filled), 0 none (a target in our
 * root, or a capture older than the record), -1 unreadable. */
int ma_target_root_read(const char *capture_path, struct ma_target_root *r);

/* Is r's process still there, the same one (pid, start time, boot)? */
int ma_target_root_alive(const struct ma_target_root *r);

#endif

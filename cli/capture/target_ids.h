/* target_ids.h — a target in another pid namespace: its pid and thread
 * ids as memattach sees them beside its own (NSpid), written into the
 * capture as TargetIds records (proto/memattach.proto). */
#ifndef MEMATTACH_TARGET_IDS_H
#define MEMATTACH_TARGET_IDS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/capture/capture_file.h"

#define MA_TARGET_IDS_MAX_THREADS 65536

struct ma_target_ids {
	pid_t pid, pid_in_ns;
	uint32_t n, written, cap;
	int described;
	uint32_t *tid, *tid_in_ns;
};

/* A new table for pid, or NULL when pid is in memattach's own pid
 * namespace (nothing to map) or cannot be read. */
struct ma_target_ids *ma_target_ids_new(pid_t pid);
/* Adds the threads pid has now (its /proc/PID/task). */
void ma_target_ids_scan(struct ma_target_ids *t);
/* Writes a TargetIds record with what is new since the last one (the
 * first also names the process) to w, or when on_record is set hands it
 * to on_record (packed, unframed, as the session hands the agent's).  0,
 * or -1 (the writer's error, or on_record's nonzero). */
int ma_target_ids_write(struct ma_target_ids *t, ma_capture_writer *w,
			int (*on_record)(void *ctx, const uint8_t *rec, size_t len), void *ctx);
void ma_target_ids_free(struct ma_target_ids *t);

#endif

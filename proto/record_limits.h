/* record_limits.h — the bounds on every length and count in a record.
 * The stream comes from a process we do not trust and a capture file may
 * be damaged or forged: a reader refuses a record outside these bounds, so
 * no input can make it allocate more than a small multiple of the record
 * size (see DESIGN.md "Limits").  The agent stays far below every one. */
#ifndef MEMATTACH_RECORD_LIMITS_H
#define MEMATTACH_RECORD_LIMITS_H

#include <stddef.h>
#include "memattach.pb-c.h"

#define MA_MAX_STRING (64u << 10)        /* bytes of any string (agent: 4 KiB) */
#define MA_MAX_BATCH_EVENTS 65536u       /* events in an EventBatch (agent: 1024) */
#define MA_MAX_STACK_FRAMES 4096u        /* frames in a Stack (agent: 384) */
#define MA_MAX_SEGMENTS 256u             /* segments of a Module (agent: 8) */
#define MA_MAX_BUILD_ID 64u              /* bytes of a build id (GNU: 20) */
#define MA_MAX_INLINED 256u              /* inlined frames of a Symbol */

/* Across the records of one stream or capture: distinct things a reader
 * keeps (the agent's stack table has 4M slots; a process rarely maps more
 * than a few thousand objects).  Past one the reader stops with an error. */
#define MA_MAX_STACKS (1u << 22)         /* distinct stack ids */
#define MA_MAX_FRAMES_TOTAL (1u << 26)   /* frames of all stacks */
#define MA_MAX_THREADS (1u << 20)        /* distinct thread ids */
#define MA_MAX_MODULES (1u << 14)        /* distinct modules */

/* 0 when every field of r is within the bounds; -1 with what is wrong in
 * why ("a Stack of 5000 frames (limit 4096)"). */
int ma_record_check(const Memattach__Record *r, char *why, size_t len);
int ma_module_check(const Memattach__Module *m, char *why, size_t len);
int ma_stack_check(const Memattach__Stack *s, char *why, size_t len);

#endif

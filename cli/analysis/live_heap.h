/* live_heap.h — the analysis run on the agent's stream as it arrives, for
 * the tracked heap in the status line and for threshold watching. */
#ifndef MEMATTACH_LIVE_HEAP_H
#define MEMATTACH_LIVE_HEAP_H

#include <stddef.h>
#include <stdint.h>
#include "cli/analysis/analysis.h"
#include "cli/analysis/replay.h"

struct ma_live {
	ma_analysis *a;
	ma_replayer *rp;
	ma_replay_result res;
	int failed;
};

int ma_live_init(struct ma_live *l);
void ma_live_free(struct ma_live *l);
/* Feeds one record (framing stripped).  Returns the unpacked record for
 * the caller to look at (free it with ma_live_record_free), NULL when it
 * could not be decoded.  l->failed is set on a replay error. */
Memattach__Record *ma_live_push(struct ma_live *l, const uint8_t *rec, size_t len);
void ma_live_record_free(Memattach__Record *r);
/* A session on_record callback that only feeds the analysis. */
int ma_live_on_record(void *ctx, const uint8_t *rec, size_t len);

#endif

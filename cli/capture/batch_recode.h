/* batch_recode.h — the capture writer's re-encoding of the agent's
 * EventBatch records (layout 1) into layout 2, whose addresses are
 * references into the heap model (addr_model.h): about half the bytes. */
#ifndef MEMATTACH_BATCH_RECODE_H
#define MEMATTACH_BATCH_RECODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ma_batch_recoder ma_batch_recoder;

ma_batch_recoder *ma_batch_recoder_new(void);
void ma_batch_recoder_free(ma_batch_recoder *r);
/* At the end of a zstd frame: the next batch starts the model afresh. */
void ma_batch_recoder_reset(ma_batch_recoder *r);
/* The framed record [p, p+len) in layout 2, in *out (valid until the next
 * call): its length, or 0 when the record is to be written as it is (not
 * a batch in layout 1, or no memory). */
size_t ma_batch_recode(ma_batch_recoder *r, const uint8_t *p, size_t len, const uint8_t **out);

#endif

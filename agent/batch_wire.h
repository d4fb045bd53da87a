/* batch_wire.h — EventBatch records in wire format (batch_wire.c). */
#ifndef MA_BATCH_WIRE_H
#define MA_BATCH_WIRE_H
#include <stddef.h>
#include <stdint.h>
struct ma_buf;
/* Its scratch, at a session's start; -1: no memory. */
int ma_batch_wire_prepare(void);
/* Bytes ma_batch_wire may write for a batch of n events. */
size_t ma_batch_wire_bound(uint32_t n);
/* The framed Record holding b's events; bytes written (0: no memory). */
size_t ma_batch_wire(const struct ma_buf *b, uint64_t start_ns, uint8_t *out);
/* Gives the scratch back (after a session). */
void ma_batch_wire_release(void);
#endif

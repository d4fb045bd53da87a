/* batch_decode.h — an EventBatch record decoded straight from its wire
 * bytes into reusable columns: no protobuf-c unpacking (a third of a
 * report's reading time went there), no allocation per record. */
#ifndef MEMATTACH_BATCH_DECODE_H
#define MEMATTACH_BATCH_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

/* The columns' storage, grown as batches need (kept between records). */
typedef struct ma_batch_cols {
	uint64_t *u64;          /* seq, time, addr and size columns, one after another */
	uint32_t *u32;          /* kind and stack columns */
	size_t cap64, cap32;
	Memattach__EventBatch batch;
	Memattach__Record rec;  /* points at batch */
} ma_batch_cols;

/* Decodes the Record body [p, p+len) when it is an EventBatch in the plain
 * encoding memattach writes (each field once, columns packed, no unknown
 * fields).  Returns the record (valid until the next call with c), or
 * NULL when the bytes are anything else: protobuf-c must then unpack them,
 * so that every other encoding gets protobuf-c's exact answer. */
const Memattach__Record *ma_batch_decode(ma_batch_cols *c, const uint8_t *p, size_t len);
void ma_batch_cols_free(ma_batch_cols *c);

#endif

/* batch_decode.h — an EventBatch record decoded straight from its wire
 * bytes into reusable columns: no protobuf-c unpacking (a third of a
 * report's reading time went there), no allocation per record. */
#ifndef MEMATTACH_BATCH_DECODE_H
#define MEMATTACH_BATCH_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

struct ma_addr_model;

/* The columns' storage, grown as batches need (kept between records). */
typedef struct ma_batch_cols {
	uint64_t *u64;          /* seq, time, addr and size columns, one after another */
	uint32_t *u32;          /* kind and stack columns */
	size_t cap64, cap32;
	Memattach__EventBatch batch;
	Memattach__Record rec;  /* points at batch */
	struct ma_addr_model *model;    /* layout 2's, made at its first batch */
	uint32_t model_next;    /* the model_batch expected next; UINT32_MAX: lost */
	int modelled;           /* the last batch decoded was in layout 2 */
	int no_model;           /* decline layout 2 (the writer's own columns) */
} ma_batch_cols;

/* A compact batch has a size for each allocating kind, munmap and mremap's
 * old range (memattach.proto). */
static inline int ma_compact_has_size(uint32_t kind)
{
	return kind < 32 || kind == MEMATTACH__EVENT_KIND__MUNMAP ||
	       kind == MEMATTACH__EVENT_KIND__MREMAP_FREE;
}

/* An EventBatch body's fields: its columns' bytes (fields 2-7, then
 * 115-117) and its scalars (tid, layout, addr_shift, model_batch). */
enum { MA_BATCH_NCOLS = 9 };
typedef struct ma_batch_span {
	const uint8_t *p;
	size_t len;
	int seen;
} ma_batch_span;
/* -1 when a field is not in the plain form or unknown. */
int ma_batch_fields(const uint8_t *p, const uint8_t *end, ma_batch_span col[MA_BATCH_NCOLS],
		    uint32_t scalar[4]);

/* Decodes the Record body [p, p+len) when it is an EventBatch in the plain
 * encoding memattach writes (each field once, columns packed, no unknown
 * fields).  Returns the record (valid until the next call with c), or
 * NULL when the bytes are anything else: protobuf-c must then unpack them,
 * so that every other encoding gets protobuf-c's exact answer.  A batch in
 * layout 2 comes back in layout 1, its addresses recovered through c's
 * model (NULL when they do not decode: the replay then refuses it). */
const Memattach__Record *ma_batch_decode(ma_batch_cols *c, const uint8_t *p, size_t len);
void ma_batch_cols_free(ma_batch_cols *c);

#endif

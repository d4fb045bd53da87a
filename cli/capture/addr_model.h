/* addr_model.h — the capture's model of the heap, which writes an event's
 * address as a reference (EventBatch.layout 2, memattach.proto).  The
 * writer and the reader keep the same state, fed the same events in file
 * order: the live blocks in an array (a free names its block's index), and
 * per size class the blocks freed last (glibc hands them out again, last
 * in first out: an allocation names the block's place), or a live block
 * its chunk follows.  An address the
 * model cannot name is an escape, a delta from a guess. */
#ifndef MEMATTACH_ADDR_MODEL_H
#define MEMATTACH_ADDR_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* An allocation's reference: k (1..K), the k-th newest block freed in its
 * size class; K + g (g: 1..G), the g-th newest freed block of any class;
 * K + G + 1 + i, the end of the chunk of the live block at index i (where
 * glibc splits the next block off a free chunk or the top).  A free's:
 * 1 + i, the live block at index i. */
#define MA_MODEL_K 8
#define MA_MODEL_G 8
/* Live blocks kept at most; more are not named (both sides alike). */
#define MA_MODEL_LIVE_MAX (1u << 20)

typedef struct ma_addr_model ma_addr_model;

/* writer: also keeps the index of each live address (a hash table). */
ma_addr_model *ma_addr_model_new(int writer);
void ma_addr_model_free(ma_addr_model *m);
/* Forgets everything: where a zstd frame starts (so a reader that
 * resumes there after damage starts from the same state). */
void ma_addr_model_reset(ma_addr_model *m);
/* Room for n more events; -1: no memory (then nothing may be coded). */
int ma_addr_model_reserve(ma_addr_model *m, size_t n);

/* The writer: the reference for an event (0: an escape, then *esc is the
 * delta to write).  Addresses are >> shift in the escape only. */
uint32_t ma_addr_model_put(ma_addr_model *m, uint32_t kind, uint64_t size, uint64_t addr,
			   uint32_t shift, int64_t *esc);
/* The reader: the address of an event from its reference (and esc when
 * it is 0); -1 when the reference names nothing. */
int ma_addr_model_get(ma_addr_model *m, uint32_t kind, uint64_t size, uint32_t ref, int64_t esc,
		      uint32_t shift, uint64_t *addr);

#endif

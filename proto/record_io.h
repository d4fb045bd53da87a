/* record_io.h — framing of the record stream: varint length + Record.
 * Shared by the agent (writer) and the CLI (reader, capture file). */
#ifndef MEMATTACH_RECORD_IO_H
#define MEMATTACH_RECORD_IO_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

#define MA_CAPTURE_MAGIC "MEMATTCH"
#define MA_CAPTURE_MAGIC_LEN 8
#define MA_CAPTURE_CONTAINER_VERSION 1u
#define MA_FORMAT_MAJOR 2u
#define MA_FORMAT_MINOR 0u
/* A record never exceeds this (the agent: 60 KiB; see record_limits.h);
 * a larger length prefix means corruption or a hostile sender. */
#define MA_MAX_RECORD_SIZE (1u << 20)
/* Bit 63 of a Stack frame marks a Python frame id. */
#define MA_FRAME_PYTHON_BIT (1ull << 63)

/* Writes v as a varint into out (at least 10 bytes); returns bytes used. */
size_t ma_varint_put(uint8_t *out, uint64_t v);

/* Reads a varint from [p, end).  Returns bytes consumed, 0 when the buffer
 * ends before the varint does, -1 when the varint is malformed (> 10 bytes). */
int ma_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* Size of the framed record (prefix + body). */
size_t ma_record_framed_size(const Memattach__Record *r);

/* Packs the framed record into out, which holds ma_record_framed_size bytes;
 * returns the bytes written. */
size_t ma_record_pack_framed(const Memattach__Record *r, uint8_t *out);
/* The same when the body's size (memattach__record__get_packed_size) is
 * known: a batch of events is not measured twice. */
size_t ma_record_pack_framed_body(const Memattach__Record *r, size_t body, uint8_t *out);

/* True when kind allocates (EventKind below 32). */
static inline int ma_kind_is_alloc(uint32_t kind) { return kind > 0 && kind < 32; }

/* Stable lower-case name of an EventKind ("malloc", "free", ...). */
const char *ma_kind_name(uint32_t kind);

#endif

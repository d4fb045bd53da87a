/* records.h — test helper: record number i of a deterministic mix of every
 * record type, packed framed (varint length + Record). */
#ifndef MEMATTACH_TEST_RECORDS_H
#define MEMATTACH_TEST_RECORDS_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

#define TEST_RECORD_TYPES 12

/* Returns malloc'ed framed bytes of record i (type i % TEST_RECORD_TYPES,
 * contents depending on i), length in *len. */
uint8_t *test_record_framed(unsigned i, size_t *len);

/* Packs r framed into malloc'ed bytes. */
uint8_t *test_pack_framed(const Memattach__Record *r, size_t *len);

#endif

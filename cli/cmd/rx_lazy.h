/* rx_lazy.h — while a process's one tracker is raw (rx_trackers.h), the
 * receiver does at once only what `memattach run` does with a record:
 * its bytes go to the capture file.  Decoding, ordering and the live
 * analysis (what stats() reads) wait until they are needed: at a Tick
 * with a sync_id (a command is due), at the end of the stream, or when
 * RX_LAZY_MAX bytes wait.  So the receiver takes no more of the machine's
 * cores than run's CLI while the program runs. */
#ifndef MEMATTACH_RX_LAZY_H
#define MEMATTACH_RX_LAZY_H

#include <stddef.h>
#include <stdint.h>

#define RX_LAZY_MAX (64u << 20)

struct rx_lazy {
	uint8_t *buf;        /* framed records, in stream order */
	size_t len, cap;
};

/* Keeps one record (framing stripped) framed; *framed and *flen are its
 * framed bytes (valid until the next call).  -1: out of memory. */
int rx_lazy_keep(struct rx_lazy *z, const uint8_t *rec, size_t len,
		 const uint8_t **framed, size_t *flen);
/* Is the record a Tick with a sync_id, or are too many bytes waiting? */
int rx_lazy_due(const struct rx_lazy *z, const uint8_t *rec, size_t len);
/* Hands every kept record (framing stripped) to fn, in order, and
 * forgets them; the first nonzero fn returns stops it and is returned. */
int rx_lazy_drain(struct rx_lazy *z, int (*fn)(void *ctx, const uint8_t *rec, size_t len), void *ctx);
void rx_lazy_free(struct rx_lazy *z);

#endif

/* capture_file.h — the capture file: magic, container version, then zstd
 * frames holding the framed record stream (see proto/memattach.proto). */
#ifndef MEMATTACH_CAPTURE_FILE_H
#define MEMATTACH_CAPTURE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

typedef struct ma_capture_writer ma_capture_writer;

/* Starts a new capture file beside path, mode 0600, never through a
 * symbolic link (cli/util/outfile.h); what has the name now stays until the
 * capture is published.  On error returns NULL with a one-line message. */
ma_capture_writer *ma_capture_writer_open(const char *path, char *err, size_t errlen);
/* Renames the capture over path now (it is worth more than what was
 * there); writing goes on, and a killed writer leaves it readable there. */
int ma_capture_writer_publish(ma_capture_writer *w);
/* Empties the capture (published or not) and starts it again. */
int ma_capture_writer_restart(ma_capture_writer *w);
/* A name to read back what was written so far (/proc/self/fd/N). */
const char *ma_capture_writer_data_path(const ma_capture_writer *w, char *buf, size_t len);
/* Appends raw framed record bytes exactly as received from the agent
 * (whole records only: a zstd frame may end after them). */
int ma_capture_writer_write(ma_capture_writer *w, const void *buf, size_t len);
/* Appends one record (framed here). */
int ma_capture_writer_write_record(ma_capture_writer *w, const Memattach__Record *r);
/* Ends the current zstd block and writes it out, so that a reader can
 * decode everything written so far even if the writer dies next. */
int ma_capture_writer_flush(ma_capture_writer *w);
/* Flushes, ends the zstd frame, publishes (if not yet: also after a write
 * error, so what fit is kept), closes.  0 on success, -errno otherwise. */
int ma_capture_writer_close(ma_capture_writer *w);
/* Drops the capture: removed unless published; the name keeps what it had. */
void ma_capture_writer_abandon(ma_capture_writer *w);
/* Last error as a one-line message (after a failed call). */
const char *ma_capture_writer_error(const ma_capture_writer *w);
/* Compressed bytes written so far. */
uint64_t ma_capture_writer_bytes(const ma_capture_writer *w);

typedef struct ma_capture_reader ma_capture_reader;

/* Opens and checks the magic and container version.  NULL + message on
 * error (not a capture, newer container version, unreadable). */
ma_capture_reader *ma_capture_reader_open(const char *path, char *err, size_t errlen);
/* Reads the next record in file order.  Returns 1 and *rec (free it with
 * ma_capture_record_free), 0 at the end of the data (a truncated file ends
 * at its last whole record: see ma_capture_reader_truncated), -1 on
 * corruption with a message naming the offset (ma_capture_reader_error). */
int ma_capture_reader_next(ma_capture_reader *r, Memattach__Record **rec);
void ma_capture_record_free(Memattach__Record *rec);
/* The same, but an EventBatch may come decoded into the reader's own
 * storage (no protobuf-c, no allocation): *borrowed is then set, and *rec
 * is valid until the next call and must not be freed. */
int ma_capture_reader_next_borrow(ma_capture_reader *r, Memattach__Record **rec, int *borrowed);
/* From now on, next returns only records of this kind (a Record r_case)
 * and skips the others without decoding them: a cheap pass over one kind,
 * such as the thread names.  0: every record again. */
void ma_capture_reader_only(ma_capture_reader *r, uint32_t r_case);
/* From now on, next leaves out records of this kind (unread, unpacked). */
void ma_capture_reader_skip(ma_capture_reader *r, uint32_t r_case);
/* Damaged zstd frames the reader skipped (a frame whose data does not
 * decode or whose checksum does not match is left out whole, and reading
 * goes on at the next frame). */
typedef struct ma_capture_damage {
	uint64_t ranges;        /* damaged frames skipped */
	uint64_t bytes;         /* compressed bytes skipped */
	uint64_t first_from, first_to;   /* the first skipped range [from, to) */
	char first_error[64];   /* what zstd said about it */
} ma_capture_damage;
const ma_capture_damage *ma_capture_reader_damage(const ma_capture_reader *r);
/* Nonzero when the data ended mid-record / mid-frame or without trailer. */
int ma_capture_reader_truncated(const ma_capture_reader *r);
const char *ma_capture_reader_error(const ma_capture_reader *r);
/* Compressed bytes consumed / total file size, for progress. */
uint64_t ma_capture_reader_offset(const ma_capture_reader *r);
uint64_t ma_capture_reader_size(const ma_capture_reader *r);
/* Bytes of the file read so far: callable from another thread than the
 * reader's (a progress bar beside a piped replay). */
uint64_t ma_capture_reader_progress(const ma_capture_reader *r);
void ma_capture_reader_close(ma_capture_reader *r);

#endif

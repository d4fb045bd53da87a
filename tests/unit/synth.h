/* synth.h — builds capture files for tests the way the agent and the CLI
 * would: per-thread event buffers flushed as columnar batches, ticks with
 * watermarks, stacks sent before use, trailers.  Every record goes through
 * the real capture writer. */
#ifndef MEMATTACH_TEST_SYNTH_H
#define MEMATTACH_TEST_SYNTH_H

#include <stddef.h>
#include <stdint.h>
#include "memattach.pb-c.h"

typedef struct synth synth;

/* Creates path; aborts the test program on error. */
synth *synth_open(const char *path);
/* Header with the given first seq (pid 4242, command "synth"). */
void synth_header(synth *s, uint64_t first_seq);
void synth_stack(synth *s, uint32_t id, size_t n, const uint64_t *frames);
void synth_symbol(synth *s, uint64_t address, const char *function);
void synth_thread(synth *s, uint32_t tid, const char *name);

/* Records one event on thread tid with the next seq (returned) and time
 * (advanced by 1000 ns per event).  It is buffered per thread until
 * synth_flush_thread/synth_tick. */
uint64_t synth_event(synth *s, uint32_t tid, uint32_t kind, uint64_t addr,
		     uint64_t size, uint32_t stack);
/* Uses up a seq number without an event (a failed realloc). */
uint64_t synth_skip_seq(synth *s);
/* Writes thread tid's pending events as one EventBatch. */
void synth_flush_thread(synth *s, uint32_t tid);
/* Flushes every thread, then writes a Tick whose watermark is the next seq. */
void synth_tick(synth *s, uint64_t rss_bytes);
/* Flushes every thread, then AgentTrailer and CaptureTrailer. */
void synth_finish(synth *s, int complete);
/* Flushes the zstd stream (a reader sees everything written so far). */
void synth_flush_file(synth *s);
/* Writes a raw Record. */
void synth_record(synth *s, const Memattach__Record *r);
/* Closes (without trailers unless synth_finish was called). */
void synth_close(synth *s);

uint64_t synth_next_seq(const synth *s);

/* Writes an EventBatch from explicit absolute values (tests of decoding). */
void synth_batch(synth *s, uint32_t tid, size_t n, const uint64_t *seq,
		 const uint64_t *time, const uint64_t *addr, const uint64_t *size,
		 const uint32_t *kind, const uint32_t *stack);

/* Reads a whole file into memory (caller frees); aborts on error. */
uint8_t *synth_slurp(const char *path, size_t *len);
void synth_spit(const char *path, const uint8_t *buf, size_t len);
/* A fresh temporary file name under $TMPDIR (caller frees, and unlinks). */
char *synth_tmpname(const char *tag);

#endif

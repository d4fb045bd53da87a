/* test_capture_file.c — the capture container: round trip, truncation at
 * every offset, corruption, bad headers, newer formats, write errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/capture/capture_file.h"
#include "record_io.h"
#include "record_limits.h"
#include "records.h"
#include "synth.h"

#define NREC 300

typedef struct corpus {
	uint8_t *rec[NREC];
	size_t len[NREC];
	uint64_t flushed_at[NREC];   /* compressed size after record i was flushed */
} corpus;

static corpus C;

/* A file of NREC records (a trailer at the end), flushed after each one
 * when `flush_each`, written through write() in odd-sized pieces when
 * `raw`. */
static char *write_file(const char *tag, int flush_each, int raw)
{
	char *path = synth_tmpname(tag);
	char err[512];
	ma_capture_writer *w = ma_capture_writer_open(path, err, sizeof err);
	assert_non_null(w);
	for (unsigned i = 0; i < NREC; i++) {
		if (raw) {
			/* split the framed bytes as a socket read would */
			size_t cut = C.len[i] / 3;
			assert_int_equal(ma_capture_writer_write(w, C.rec[i], cut), 0);
			assert_int_equal(ma_capture_writer_write(w, C.rec[i] + cut, C.len[i] - cut), 0);
		} else {
			assert_int_equal(ma_capture_writer_write(w, C.rec[i], C.len[i]), 0);
		}
		if (flush_each)
			assert_int_equal(ma_capture_writer_flush(w), 0);
		C.flushed_at[i] = ma_capture_writer_bytes(w);
	}
	assert_int_equal(ma_capture_writer_close(w), 0);
	return path;
}

/* Reads path; checks the records read are exactly a prefix of the corpus.
 * Returns how many; *rc the last reader result, *trunc the flag. */
static int read_prefix(const char *path, int *rc, int *trunc, char *err, size_t errlen)
{
	ma_capture_reader *r = ma_capture_reader_open(path, err, errlen);
	if (!r) {
		*rc = -2;
		return 0;
	}
	int n = 0;
	Memattach__Record *rec;
	while ((*rc = ma_capture_reader_next(r, &rec)) > 0) {
		assert_true(n < NREC);
		size_t len;
		uint8_t *b = test_pack_framed(rec, &len);
		if (len != C.len[n] || memcmp(b, C.rec[n], len))
			fail_msg("record %d differs after reading %s", n, path);
		free(b);
		ma_capture_record_free(rec);
		n++;
	}
	if (*rc < 0)
		snprintf(err, errlen, "%s", ma_capture_reader_error(r));
	*trunc = ma_capture_reader_truncated(r);
	ma_capture_reader_close(r);
	return n;
}

static int setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NREC; i++)
		C.rec[i] = test_record_framed(i, &C.len[i]);
	/* End with a trailer so that the whole file is complete. */
	free(C.rec[NREC - 1]);
	C.rec[NREC - 1] = test_record_framed(10 + TEST_RECORD_TYPES * 3, &C.len[NREC - 1]);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NREC; i++)
		free(C.rec[i]);
	return 0;
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		char *path = write_file("rt", mode == 1, mode == 2);
		char err[512];
		int rc, trunc;
		assert_int_equal(read_prefix(path, &rc, &trunc, err, sizeof err), NREC);
		assert_int_equal(rc, 0);
		assert_int_equal(trunc, 0);
		unlink(path);
		free(path);
	}
}

/* Records may be held and freed in any order (slab reference counts). */
static void test_hold_all_records(void **state)
{
	(void)state;
	char *path = write_file("hold", 0, 0);
	char err[512];
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	assert_non_null(r);
	Memattach__Record *all[NREC];
	for (int i = 0; i < NREC; i++)
		assert_int_equal(ma_capture_reader_next(r, &all[i]), 1);
	Memattach__Record *extra;
	assert_int_equal(ma_capture_reader_next(r, &extra), 0);
	assert_true(ma_capture_reader_offset(r) == ma_capture_reader_size(r));
	ma_capture_reader_close(r);     /* records outlive the reader */
	for (int i = NREC - 1; i >= 0; i -= 2) {
		size_t len;
		uint8_t *b = test_pack_framed(all[i], &len);
		assert_memory_equal(b, C.rec[i], len);
		free(b);
		ma_capture_record_free(all[i]);
	}
	for (int i = NREC - 2; i >= 0; i -= 2)
		ma_capture_record_free(all[i]);
	unlink(path);
	free(path);
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	for (int flush_each = 0; flush_each < 2; flush_each++) {
		char *path = write_file("full", flush_each, 0);
		size_t len;
		uint8_t *full = synth_slurp(path, &len);
		char *cut = synth_tmpname("cut");
		size_t step = len > 4000 ? len / 2000 : 1;
		for (size_t at = 0; at < len; at += (at < 64 ? 1 : step)) {
			synth_spit(cut, full, at);
			char err[512] = "";
			int rc, trunc;
			int n = read_prefix(cut, &rc, &trunc, err, sizeof err);
			if (at < 12) {
				assert_int_equal(rc, -2);
				assert_true(strstr(err, "not a memattach capture") || strstr(err, "truncated"));
				continue;
			}
			if (rc != 0)
				fail_msg("cut at %zu: reader failed: %s", at, err);
			assert_true(trunc);
			/* Every record flushed before the cut is there. */
			if (flush_each)
				for (int i = 0; i < NREC; i++)
					if (C.flushed_at[i] <= at)
						assert_true(n > i);
		}
		unlink(cut);
		free(cut);
		free(full);
		unlink(path);
		free(path);
	}
}

static void test_corrupt_never_crashes(void **state)
{
	(void)state;
	char *path = write_file("corr", 1, 0);
	size_t len;
	uint8_t *full = synth_slurp(path, &len);
	uint8_t *bad = malloc(len);
	char *p2 = synth_tmpname("flip");
	int errors = 0, clean = 0;
	size_t step = len > 3000 ? len / 1500 : 1;
	for (size_t at = 12; at < len; at += step) {
		for (int pat = 0; pat < 2; pat++) {
			memcpy(bad, full, len);
			bad[at] ^= pat ? 0xff : 0x01;
			synth_spit(p2, bad, len);
			char err[512];
			ma_capture_reader *r = ma_capture_reader_open(p2, err, sizeof err);
			assert_non_null(r);
			Memattach__Record *rec;
			int rc, n = 0;
			while ((rc = ma_capture_reader_next(r, &rec)) > 0) {
				ma_capture_record_free(rec);
				n++;
			}
			if (rc < 0) {
				const char *e = ma_capture_reader_error(r);
				if (!strstr(e, "compressed byte"))
					fail_msg("flip at %zu: error without offset: %s", at, e);
				errors++;
				/* Another call keeps failing, without crashing. */
				assert_int_equal(ma_capture_reader_next(r, &rec), -1);
			} else {
				clean++;
			}
			ma_capture_reader_close(r);
		}
	}
	/* The frame checksum catches what the decoder lets through. */
	assert_true(errors > 0);
	free(bad);
	free(full);
	unlink(p2);
	free(p2);
	unlink(path);
	free(path);
}

static void expect_open_error(const uint8_t *bytes, size_t n, const char *needle)
{
	char *p = synth_tmpname("hdr");
	synth_spit(p, bytes, n);
	char err[512] = "";
	ma_capture_reader *r = ma_capture_reader_open(p, err, sizeof err);
	assert_null(r);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	unlink(p);
	free(p);
}

static void test_bad_headers(void **state)
{
	(void)state;
	expect_open_error((const uint8_t *)"", 0, "not a memattach capture");
	expect_open_error((const uint8_t *)"hello world, this is text", 25, "not a memattach capture");
	expect_open_error((const uint8_t *)"MEMATTCH\x01", 9, "truncated");
	expect_open_error((const uint8_t *)"MEMATTCH\x02\x00\x00\x00", 12, "newer");
	char err[512];
	assert_null(ma_capture_reader_open("/nonexistent/x.cap", err, sizeof err));
	assert_non_null(strstr(err, "No such file"));
	assert_null(ma_capture_reader_open("/tmp", err, sizeof err));
	assert_non_null(strstr(err, "directory"));
}

/* Writes raw decompressed bytes into a capture and reads it. */
static int read_raw(const uint8_t *raw, size_t n, char *err, size_t errlen, int *records)
{
	char *p = synth_tmpname("raw");
	char e[512];
	ma_capture_writer *w = ma_capture_writer_open(p, e, sizeof e);
	assert_non_null(w);
	assert_int_equal(ma_capture_writer_write(w, raw, n), 0);
	assert_int_equal(ma_capture_writer_close(w), 0);
	ma_capture_reader *r = ma_capture_reader_open(p, e, sizeof e);
	assert_non_null(r);
	Memattach__Record *rec;
	int rc;
	*records = 0;
	while ((rc = ma_capture_reader_next(r, &rec)) > 0) {
		ma_capture_record_free(rec);
		++*records;
	}
	snprintf(err, errlen, "%s", ma_capture_reader_error(r));
	ma_capture_reader_close(r);
	unlink(p);
	free(p);
	return rc;
}

static void test_bad_records(void **state)
{
	(void)state;
	char err[512];
	int n;
	uint8_t buf[64];
	/* an impossible length */
	size_t k = ma_varint_put(buf, (uint64_t)MA_MAX_RECORD_SIZE + 1);
	assert_int_equal(read_raw(buf, k, err, sizeof err, &n), -1);
	assert_non_null(strstr(err, "a record of 1048577 bytes (limit 1048576)"));
	assert_non_null(strstr(err, "compressed byte"));
	/* a valid record, then garbage that is not protobuf */
	size_t len;
	uint8_t *ok = test_record_framed(7, &len);
	memcpy(buf, ok, len);
	free(ok);
	buf[len] = 4;
	memset(buf + len + 1, 0xff, 4);
	assert_int_equal(read_raw(buf, len + 5, err, sizeof err, &n), -1);
	assert_int_equal(n, 1);
	assert_non_null(strstr(err, "does not decode"));
	assert_non_null(strstr(err, "record 1"));
	/* an 11-byte varint */
	memset(buf, 0x80, 11);
	assert_int_equal(read_raw(buf, 11, err, sizeof err, &n), -1);
	assert_non_null(strstr(err, "malformed record length"));
}

static void test_newer_format_major(void **state)
{
	(void)state;
	Memattach__Header h = MEMATTACH__HEADER__INIT;
	h.format_major = MA_FORMAT_MAJOR + 1;
	h.format_minor = 3;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_HEADER;
	r.header = &h;
	size_t len;
	uint8_t *b = test_pack_framed(&r, &len);
	char err[512];
	int n;
	assert_int_equal(read_raw(b, len, err, sizeof err, &n), -1);
	char want[64];
	snprintf(want, sizeof want, "capture format %u.3 is newer", MA_FORMAT_MAJOR + 1);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "upgrade"));
	free(b);
}

/* A capture with one batch of `events` events and one symbol named by a
 * string of `name_len` bytes. */
static char *write_big(size_t events, size_t name_len, char **name)
{
	char *p = synth_tmpname("big");
	synth *s = synth_open(p);
	synth_header(s, 0);
	for (size_t i = 0; i < events; i++)
		synth_event(s, 1, MEMATTACH__EVENT_KIND__MALLOC, 0x10000 + 32 * i, 16, 1);
	synth_flush_thread(s, 1);
	*name = malloc(name_len + 1);
	memset(*name, 'x', name_len);
	(*name)[name_len] = 0;
	synth_symbol(s, 0x1234, *name);
	synth_finish(s, 1);
	synth_close(s);
	return p;
}

/* Records at the limits of record_limits.h read whole. */
static void test_big_records(void **state)
{
	(void)state;
	char *name;
	char *p = write_big(MA_MAX_BATCH_EVENTS, MA_MAX_STRING, &name);
	char err[512];
	ma_capture_reader *r = ma_capture_reader_open(p, err, sizeof err);
	assert_non_null(r);
	Memattach__Record *rec;
	int types[16] = { 0 };
	size_t events = 0;
	while (ma_capture_reader_next(r, &rec) > 0) {
		types[rec->r_case]++;
		if (rec->r_case == MEMATTACH__RECORD__R_EVENTS)
			events += rec->events->n_seq_delta;
		if (rec->r_case == MEMATTACH__RECORD__R_SYMBOL)
			assert_string_equal(rec->symbol->function, name);
		ma_capture_record_free(rec);
	}
	assert_int_equal(events, MA_MAX_BATCH_EVENTS);
	assert_int_equal(types[MEMATTACH__RECORD__R_SYMBOL], 1);
	assert_false(ma_capture_reader_truncated(r));
	ma_capture_reader_close(r);
	free(name);
	unlink(p);
	free(p);
}

static int read_all(const char *p, char *err, size_t errlen)
{
	ma_capture_reader *r = ma_capture_reader_open(p, err, errlen);
	assert_non_null(r);
	Memattach__Record *rec;
	int rc;
	while ((rc = ma_capture_reader_next(r, &rec)) > 0)
		ma_capture_record_free(rec);
	snprintf(err, errlen, "%s", ma_capture_reader_error(r));
	ma_capture_reader_close(r);
	return rc;
}

/* One past a limit: refused, with the limit named. */
static void test_over_limits(void **state)
{
	(void)state;
	char *name, err[512];
	char *p = write_big(MA_MAX_BATCH_EVENTS + 1, 10, &name);
	assert_int_equal(read_all(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "an EventBatch of 65537 events (limit 65536)"));
	unlink(p);
	free(p);
	free(name);
	p = write_big(10, MA_MAX_STRING + 1, &name);
	assert_int_equal(read_all(p, err, sizeof err), -1);
	assert_non_null(strstr(err, "a Symbol function of 65537 bytes (limit 65536)"));
	unlink(p);
	free(p);
	free(name);
}

static void test_write_errors(void **state)
{
	(void)state;
	char err[512] = "";
	/* /dev/full: every write fails with ENOSPC (only if it is the device:
	 * never create a regular file there) */
	struct stat st;
	if (stat("/dev/full", &st) != 0 || !S_ISCHR(st.st_mode))
		skip();
	ma_capture_writer *w = ma_capture_writer_open("/dev/full", err, sizeof err);
	assert_null(w);
	assert_non_null(strstr(err, "No space left on device"));
	assert_null(ma_capture_writer_open("/nonexistent/dir/x.cap", err, sizeof err));
	assert_non_null(strstr(err, "/nonexistent/dir/x.cap"));
}

/* The disk fills up mid-capture (here: a file size limit): every later call
 * fails with a message, close reports it too, and what was flushed reads. */
static void test_write_error_mid_capture(void **state)
{
	(void)state;
	char *p = synth_tmpname("efbig");
	char err[512];
	ma_capture_writer *w = ma_capture_writer_open(p, err, sizeof err);
	assert_non_null(w);
	struct rlimit old, lim;
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 20000;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = 0;
	unsigned i;
	for (i = 0; i < 100000 && rc == 0; i++) {
		rc = ma_capture_writer_write(w, C.rec[i % NREC], C.len[i % NREC]);
		if (rc == 0 && i % 50 == 0)
			rc = ma_capture_writer_flush(w);
	}
	assert_true(rc < 0);
	assert_non_null(strstr(ma_capture_writer_error(w), "File too large"));
	assert_non_null(strstr(ma_capture_writer_error(w), p));
	assert_true(ma_capture_writer_write(w, C.rec[0], C.len[0]) < 0);
	assert_true(ma_capture_writer_close(w) < 0);
	assert_non_null(strstr(ma_capture_writer_error(NULL), "File too large"));
	assert_non_null(strstr(ma_capture_writer_error(w), "File too large")); /* pointer only compared */
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
	/* the flushed prefix is a readable, truncated capture */
	int n = 0, trunc;
	ma_capture_reader *r = ma_capture_reader_open(p, err, sizeof err);
	assert_non_null(r);
	Memattach__Record *rec;
	while ((rc = ma_capture_reader_next(r, &rec)) > 0) {
		ma_capture_record_free(rec);
		n++;
	}
	assert_int_equal(rc, 0);
	trunc = ma_capture_reader_truncated(r);
	assert_true(trunc);
	assert_true(n >= 50);
	ma_capture_reader_close(r);
	unlink(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_hold_all_records),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_corrupt_never_crashes),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_newer_format_major),
		cmocka_unit_test(test_big_records),
		cmocka_unit_test(test_over_limits),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_write_error_mid_capture),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

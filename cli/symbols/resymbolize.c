/* resymbolize.c — see resymbolize.h.  The copy goes through the capture
 * writer record by record, then ma_symbolize_capture appends the symbols
 * the same way the end of a live capture does. */
#include <stdio.h>
#include <string.h>

#include "cli/capture/capture_file.h"
#include "cli/symbols/resymbolize.h"
#include "cli/symbols/symbolize.h"

/* Copies every record of r but the CaptureTrailer, which is returned
 * (NULL when the capture has none).  -1 on a write error. */
static int copy_records(ma_capture_reader *r, ma_capture_writer *w, Memattach__Record **trailer)
{
	Memattach__Record *rec;
	*trailer = NULL;
	while (ma_capture_reader_next(r, &rec) > 0) {
		if (rec->r_case == MEMATTACH__RECORD__R_CAPTURE_TRAILER) {
			if (*trailer)
				ma_capture_record_free(*trailer);
			*trailer = rec;
			continue;
		}
		int wr = ma_capture_writer_write_record(w, rec);
		ma_capture_record_free(rec);
		if (wr < 0)
			return -1;
	}
	return 0;
}

static int write_trailer(ma_capture_writer *w, const Memattach__Record *old)
{
	if (old)
		return ma_capture_writer_write_record(w, old);
	Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
	Memattach__Record rec = MEMATTACH__RECORD__INIT;
	ct.complete = 0;
	ct.note = (char *)"the recording was cut off (no trailer); symbols added later by memattach symbolize";
	rec.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
	rec.capture_trailer = &ct;
	return ma_capture_writer_write_record(w, &rec);
}

long ma_resymbolize(const char *in, const char *out, int add_trailer, const char *root_prefix,
		    char *err, size_t errlen)
{
	ma_capture_reader *r = ma_capture_reader_open(in, err, errlen);
	if (!r)
		return MA_RESYM_BAD_INPUT;
	ma_capture_writer *w = ma_capture_writer_open(out, err, errlen);
	if (!w) {
		ma_capture_reader_close(r);
		return MA_RESYM_BAD_OUTPUT;
	}
	Memattach__Record *trailer;
	long n = MA_RESYM_BAD_OUTPUT;
	if (copy_records(r, w, &trailer) < 0 || ma_capture_writer_flush(w) < 0)
		snprintf(err, errlen, "%s", ma_capture_writer_error(w));
	else {
		char data[64];   /* the copy so far: out is replaced only at close */
		int k = ma_symbolize_capture(ma_capture_writer_data_path(w, data, sizeof data), w,
					     root_prefix, err, errlen);
		n = k < 0 ? MA_RESYM_BAD_OUTPUT : k;
	}
	if (n >= 0 && (trailer || add_trailer) && write_trailer(w, trailer) < 0) {
		snprintf(err, errlen, "%s", ma_capture_writer_error(w));
		n = MA_RESYM_BAD_OUTPUT;
	}
	if (trailer)
		ma_capture_record_free(trailer);
	if (n < 0)
		ma_capture_writer_abandon(w);   /* out keeps what it had */
	else if (ma_capture_writer_close(w) < 0) {
		snprintf(err, errlen, "cannot write %s", out);
		n = MA_RESYM_BAD_OUTPUT;
	}
	ma_capture_reader_close(r);
	return n;
}

int ma_capture_lacks_symbols(const char *path)
{
	char err[256];
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	if (!r)
		return -1;
	ma_capture_reader_skip(r, MEMATTACH__RECORD__R_EVENTS);
	Memattach__Record *rec;
	int symbols = 0, native = 0;
	while (!symbols && ma_capture_reader_next(r, &rec) > 0) {
		if (rec->r_case == MEMATTACH__RECORD__R_SYMBOL)
			symbols = 1;
		else if (rec->r_case == MEMATTACH__RECORD__R_STACK)
			for (size_t i = 0; i < rec->stack->n_frames; i++)
				native |= !(rec->stack->frames[i] >> 63);   /* bit 63: a Python frame */
		ma_capture_record_free(rec);
	}
	ma_capture_reader_close(r);
	return native && !symbols;
}

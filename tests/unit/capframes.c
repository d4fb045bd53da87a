/* capframes — lists the zstd frames of a capture, decoded on their own
 * (not through the CLI's reader): one line per frame,
 *   START END RECORDS ALLOCATIONS
 * with START/END the frame's compressed byte range [START, END) in the
 * file and ALLOCATIONS the allocation events (EventKind below 32) in it.
 * The damaged-capture test knows from it what skipping a frame must lose.
 * A last frame cut short (disk full, writer killed) is decoded as far as
 * it goes and its whole records counted: its line ends with "cut".
 *   usage: capframes CAPTURE */
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "record_io.h"
#include "synth.h"

static void count(const uint8_t *p, size_t n, int cut, unsigned long *recs, unsigned long *allocs)
{
	size_t off = 0;
	while (off < n) {
		uint64_t len;
		int k = ma_varint_get(p + off, p + n, &len);
		if (cut && (k == 0 || (k > 0 && len > n - off - (size_t)k)))
			return;         /* the record the cut went through */
		if (k <= 0 || len > n - off - (size_t)k) {
			fprintf(stderr, "capframes: a frame ends inside a record\n");
			exit(1);
		}
		Memattach__Record *r = memattach__record__unpack(NULL, len, p + off + k);
		if (!r) {
			fprintf(stderr, "capframes: a record does not decode\n");
			exit(1);
		}
		++*recs;
		if (r->r_case == MEMATTACH__RECORD__R_EVENTS)
			for (size_t i = 0; i < r->events->n_kind; i++)
				*allocs += ma_kind_is_alloc(r->events->kind[i]);
		memattach__record__free_unpacked(r, NULL);
		off += (size_t)k + len;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: capframes CAPTURE\n");
		return 2;
	}
	size_t size;
	uint8_t *buf = synth_slurp(argv[1], &size);
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	ZSTD_DCtx *d = ZSTD_createDCtx();
	for (size_t at = 12; at < size;) {
		size_t fl = ZSTD_findFrameCompressedSize(buf + at, size - at);
		int cut = ZSTD_isError(fl);
		if (cut)
			fl = size - at;

		ZSTD_inBuffer in = { buf + at, fl, 0 };
		ZSTD_outBuffer o = { out, cap, 0 };
		size_t rc;
		do {
			if (o.pos == o.size) {
				out = realloc(out, cap *= 2);
				o.dst = out;
				o.size = cap;
			}
			rc = ZSTD_decompressStream(d, &o, &in);
			if (ZSTD_isError(rc)) {
				fprintf(stderr, "capframes: %s\n", ZSTD_getErrorName(rc));
				return 1;
			}
		} while (rc != 0 && (in.pos < in.size || o.pos == o.size));
		unsigned long recs = 0, allocs = 0;
		count(out, o.pos, cut, &recs, &allocs);
		printf("%zu %zu %lu %lu%s\n", at, at + fl, recs, allocs, cut ? " cut" : "");
		at += fl;
	}
	ZSTD_freeDCtx(d);
	free(out);
	free(buf);
	return 0;
}

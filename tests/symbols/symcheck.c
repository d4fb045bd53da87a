/* symcheck.c — test helper for symbolization.
 *   symcheck CAPTURE          prints the Symbol records, one per line:
 *                             ADDR FUNCTION FILE:LINE MODULE+OFF, then one
 *                             "  inlined FUNCTION FILE:LINE" line per frame
 *   symcheck --strip IN OUT     copies IN without its symbols and trailers to
 *                             OUT: a capture whose writer was killed
 *   symcheck --resymbolize IN OUT [ROOT]
 *                             copies IN without its symbols and trailer to
 *                             OUT, symbolizes OUT and prints the time taken */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "cli/capture/capture_file.h"
#include "cli/symbols/symbolize.h"

static int dump(const char *path)
{
	char err[512];
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	if (!r) {
		fprintf(stderr, "symcheck: %s\n", err);
		return 2;
	}
	Memattach__Record *rec;
	int k;
	while ((k = ma_capture_reader_next(r, &rec)) > 0) {
		if (rec->r_case == MEMATTACH__RECORD__R_SYMBOL) {
			const Memattach__Symbol *s = rec->symbol;
			printf("0x%llx\t%s\t%s:%u\t%s+0x%llx\n", (unsigned long long)s->address,
			       s->function, s->file, s->line, s->module,
			       (unsigned long long)s->module_offset);
			for (size_t i = 0; i < s->n_inlined; i++)
				printf("  inlined\t%s\t%s:%u\n", s->inlined[i]->function,
				       s->inlined[i]->file, s->inlined[i]->line);
		}
		ma_capture_record_free(rec);
	}
	if (k < 0)
		fprintf(stderr, "symcheck: %s\n", ma_capture_reader_error(r));
	ma_capture_reader_close(r);
	return k < 0 ? 2 : 0;
}

/* Copies in to out without the records whose kinds are set in drop[]. */
static int copy_without(const char *in, ma_capture_writer *w, const int *drop)
{
	char err[512];
	ma_capture_reader *r = ma_capture_reader_open(in, err, sizeof err);
	if (!r) {
		fprintf(stderr, "symcheck: %s\n", err);
		return -1;
	}
	Memattach__Record *rec;
	while (ma_capture_reader_next(r, &rec) > 0) {
		if (!drop[rec->r_case])
			ma_capture_writer_write_record(w, rec);
		ma_capture_record_free(rec);
	}
	ma_capture_reader_close(r);
	return 0;
}

static int strip(const char *in, const char *out)
{
	char err[512];
	int drop[64] = { 0 };
	drop[MEMATTACH__RECORD__R_SYMBOL] = drop[MEMATTACH__RECORD__R_CAPTURE_TRAILER] = 1;
	drop[MEMATTACH__RECORD__R_AGENT_TRAILER] = 1;
	ma_capture_writer *w = ma_capture_writer_open(out, err, sizeof err);
	if (!w) {
		fprintf(stderr, "symcheck: %s\n", err);
		return 2;
	}
	int rc = copy_without(in, w, drop);
	return ma_capture_writer_close(w) < 0 || rc < 0 ? 2 : 0;
}

static int resymbolize(const char *in, const char *out, const char *root)
{
	char data[64];   /* the capture being written, read back through its fd */
	char err[512];
	int drop[64] = { 0 };
	drop[MEMATTACH__RECORD__R_SYMBOL] = drop[MEMATTACH__RECORD__R_CAPTURE_TRAILER] = 1;
	ma_capture_writer *w = ma_capture_writer_open(out, err, sizeof err);
	if (!w) {
		fprintf(stderr, "symcheck: %s\n", err);
		return 2;
	}
	if (copy_without(in, w, drop) < 0) {
		ma_capture_writer_abandon(w);
		return 2;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = -1;
	if (ma_capture_writer_flush(w) == 0)
		n = ma_symbolize_capture(ma_capture_writer_data_path(w, data, sizeof data), w, root, err, sizeof err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ma_capture_writer_close(w) < 0 || n < 0) {
		fprintf(stderr, "symcheck: %s\n", n < 0 ? err : ma_capture_writer_error(NULL));
		return 2;
	}
	printf("%d symbols in %.3f s\n", n,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2)
		return dump(argv[1]);
	if (argc == 4 && !strcmp(argv[1], "--strip"))
		return strip(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "--resymbolize"))
		return resymbolize(argv[2], argv[3], argc == 5 ? argv[4] : "");
	fprintf(stderr, "usage: symcheck CAPTURE | symcheck --strip IN OUT | symcheck --resymbolize IN OUT [ROOT]\n");
	return 2;
}

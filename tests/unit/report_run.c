/* report_run.c — ma_report_main with its output in files (report_run.h). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/report/report.h"
#include "report_run.h"
#include "synth.h"

static char *slurp_text(char *path)
{
	size_t n;
	uint8_t *b = synth_slurp(path, &n);
	char *s = realloc(b, n + 1);
	if (!s) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	s[n] = 0;
	unlink(path);
	free(path);
	return s;
}

int report_runv(char **out, char **err, int argc, va_list ap)
{
	char *argv[24];
	for (int i = 0; i < argc && i < 23; i++)
		argv[i] = va_arg(ap, char *);
	argv[argc < 23 ? argc : 23] = NULL;
	char *op = synth_tmpname("out"), *ep = synth_tmpname("err");
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fo, 1);
	dup2(fe, 2);
	close(fo);
	close(fe);
	alarm(20);
	int rc = ma_report_main(argc, argv);
	alarm(0);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	*out = slurp_text(op);
	*err = slurp_text(ep);
	return rc;
}

/* fuzz_stream — libFuzzer harness of what the CLI does with the bytes a
 * target sends on the socket: the session pump (framing, limits, the
 * records it peeks at), the live analysis fed from it (status line,
 * threshold mode) and the capture file it writes, read back.
 * Input: 2 bytes that choose how the stream is cut into reads, then the
 * stream itself (varint-framed records, as the agent sends them). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/analysis/analysis.h"
#include "cli/analysis/live_heap.h"
#include "cli/capture/session.h"

/* Writes what the socket takes of [*p, end); closes it at the end. */
static void feed(int *wfd, const uint8_t **p, const uint8_t *end, size_t chunk)
{
	if (*wfd < 0)
		return;
	if (*p == end) {
		close(*wfd);
		*wfd = -1;
		return;
	}
	size_t n = (size_t)(end - *p) < chunk ? (size_t)(end - *p) : chunk;
	ssize_t k = write(*wfd, *p, n);
	if (k > 0)
		*p += k;
}

static char dir[64];             /* the captures' directory, removed at exit */

static void remove_dir(void)
{
	rmdir(dir);
}

static void read_back(const char *path, const struct ma_live *l, int live_ok)
{
	ma_analysis *a = ma_analysis_new();
	char err[600];
	if (!a)
		abort();
	int rc = ma_analysis_run(a, path, err, sizeof err);
	/* What the file holds is what the live analysis saw. */
	if (rc == 0 && live_ok && !a->replay.damage.ranges &&
	    (a->total_allocations != l->a->total_allocations ||
	     a->total_bytes_allocated != l->a->total_bytes_allocated ||
	     a->total_frees != l->a->total_frees))
		abort();
	ma_analysis_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = 1 + (((size_t)data[0] << 8 | data[1]) % 8192);
	const uint8_t *p = data + 2, *end = data + size;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	/* A real file in a directory of our own: captures are written beside
	 * their name and renamed into place (cli/util/outfile.c), which a
	 * /proc/self/fd link is not. */
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/fuzz_stream-XXXXXX", t && *t && strlen(t) < 32 ? t : "/tmp");
		if (!mkdtemp(dir))
			abort();
		atexit(remove_dir);
	}
	char path[96], err[600];
	snprintf(path, sizeof path, "%s/c.memcap", dir);

	struct ma_session s;
	memset(&s, 0, sizeof s);
	s.listen_fd = -1;
	s.sd.fd = s.sd.parent_fd = -1;       /* no session directory */
	s.conn_fd = sv[0];
	s.writer = ma_capture_writer_open(path, err, sizeof err);
	struct ma_live l;
	if (!s.writer || ma_live_init(&l) < 0)
		abort();
	s.on_record = ma_live_on_record;
	s.on_record_ctx = &l;

	int rc;
	do {
		feed(&sv[1], &p, end, chunk);
		rc = ma_session_pump(&s, sv[1] < 0 ? 1000 : 0, err, sizeof err);
	} while (rc > 0);
	if (sv[1] >= 0)
		close(sv[1]);
	ma_replayer_finish(l.rp);
	ma_analysis_finish(l.a);
	int wrc = ma_capture_writer_close(s.writer);
	s.writer = NULL;
	if (wrc == 0)
		read_back(path, &l, rc == 0 && !l.failed);
	ma_live_free(&l);
	ma_session_cleanup(&s);
	unlink(path);
	return 0;
}

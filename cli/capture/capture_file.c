/* capture_file.c — the capture file: "MEMATTCH", container version, then a
 * zstd stream of framed records.  The writer flushes zstd blocks on demand so
 * a killed writer leaves a decodable prefix; the reader returns every whole
 * record before a cut and says the file is truncated. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "cli/capture/capture_file.h"
#include "cli/capture/batch_decode.h"
#include "cli/util/outfile.h"
#include "record_io.h"
#include "record_limits.h"

#define HEADER_LEN (MA_CAPTURE_MAGIC_LEN + 4)
/* The writer ends a zstd frame (with its checksum) after this much input:
 * damage then costs the reader one frame, not the rest of the file. */
#define FRAME_INPUT (256u << 10)

/* ---------------------------------------------------------------- writer */

struct ma_capture_writer {
	int fd;
	ma_outfile of;          /* the new file, renamed over path when published */
	char *path;
	ZSTD_CCtx *cctx;
	uint8_t *out;
	size_t out_cap;
	uint64_t bytes;         /* compressed bytes written, header included */
	int failed;             /* -errno of the first write error */
	char err[512];
	uint8_t *rec;           /* scratch for write_record */
	size_t rec_cap;
	size_t frame_in;        /* input bytes in the current zstd frame */
};

/* ma_capture_writer_close frees the writer; its error, if any, stays here so
 * that ma_capture_writer_error(NULL), or with the just-closed pointer (only
 * compared, never read), can still print it. */
static __thread char last_close_err[512];
static __thread uintptr_t last_closed;

static int wfail(ma_capture_writer *w, int e, const char *what)
{
	if (!w->failed) {
		w->failed = -e;
		snprintf(w->err, sizeof w->err, "cannot %s capture file %s: %s%s", what,
			 w->path, strerror(e),
			 e == ENOSPC || e == EDQUOT ? " (free some space or write elsewhere with -o)" : "");
	}
	return w->failed;
}

static int write_all(ma_capture_writer *w, const uint8_t *p, size_t n)
{
	if (w->failed)
		return w->failed;
	while (n > 0) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return wfail(w, errno, "write");
		}
		p += k;
		n -= (size_t)k;
		w->bytes += (uint64_t)k;
	}
	return 0;
}

static int write_header(ma_capture_writer *w)
{
	uint8_t hdr[HEADER_LEN];
	memcpy(hdr, MA_CAPTURE_MAGIC, MA_CAPTURE_MAGIC_LEN);
	uint32_t v = MA_CAPTURE_CONTAINER_VERSION;
	for (int i = 0; i < 4; i++)
		hdr[MA_CAPTURE_MAGIC_LEN + i] = (uint8_t)(v >> (8 * i));
	return write_all(w, hdr, sizeof hdr);
}

ma_capture_writer *ma_capture_writer_open(const char *path, char *err, size_t errlen)
{
	ma_capture_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((uintptr_t)w == last_closed)
		last_closed = 0;        /* the address is reused: it is a new writer */
	w->path = strdup(path);
	w->out_cap = ZSTD_CStreamOutSize();
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	if (!w->path || !w->out || !w->cctx) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Level 1: the stream is mostly varints that compress little (1.8x);
	 * level 3 took twice the CPU (81 vs 37 ns an event on the neutral
	 * bench's stream) for 2.4% fewer bytes, on the target's cores. */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, 1);
	/* A hash table of 4K entries (16 KiB, in L1 beside the target) and
	 * matches from 6 bytes: as many bytes as level 1's 16K entries and
	 * 7 bytes (4.188 vs 4.191 an event on the neutral bench's stream). */
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_hashLog, 12);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_minMatch, 6);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	char why[256];
	if (ma_outfile_open(&w->of, path, why, sizeof why) < 0) {
		snprintf(err, errlen, "cannot create capture file %s: %s", path, why);
		goto fail;
	}
	w->fd = w->of.fd;
	if (write_header(w) < 0) {
		snprintf(err, errlen, "%s", w->err);
		ma_outfile_abandon(&w->of);   /* what had the name stays */
		goto fail;
	}
	return w;
fail:
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w->path);
	free(w);
	return NULL;
}

/* Feeds input to zstd with the given directive; writes out what comes out. */
static int compress(ma_capture_writer *w, const void *buf, size_t len, ZSTD_EndDirective mode)
{
	if (w->failed)
		return w->failed;
	ZSTD_inBuffer in = { buf, len, 0 };
	for (;;) {
		ZSTD_outBuffer out = { w->out, w->out_cap, 0 };
		size_t rem = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(rem)) {
			snprintf(w->err, sizeof w->err, "compressing capture file %s: %s",
				 w->path, ZSTD_getErrorName(rem));
			w->failed = -EIO;
			return w->failed;
		}
		if (out.pos && write_all(w, w->out, out.pos) < 0)
			return w->failed;
		if (mode == ZSTD_e_continue ? in.pos == in.size : rem == 0)
			return 0;
	}
}

/* Whole records in; the frame ends between records, so that every frame
 * starts with a record and a reader can resume at any frame. */
static int compress_records(ma_capture_writer *w, const void *buf, size_t len)
{
	if (compress(w, buf, len, ZSTD_e_continue) < 0)
		return w->failed;
	w->frame_in += len;
	if (w->frame_in < FRAME_INPUT)
		return 0;
	w->frame_in = 0;
	return compress(w, NULL, 0, ZSTD_e_end);
}

int ma_capture_writer_write(ma_capture_writer *w, const void *buf, size_t len)
{
	return compress_records(w, buf, len);
}

int ma_capture_writer_write_record(ma_capture_writer *w, const Memattach__Record *r)
{
	size_t n = ma_record_framed_size(r);
	if (n > w->rec_cap) {
		uint8_t *p = realloc(w->rec, n);
		if (!p)
			return wfail(w, ENOMEM, "write");
		w->rec = p;
		w->rec_cap = n;
	}
	ma_record_pack_framed(r, w->rec);
	return compress_records(w, w->rec, n);
}

int ma_capture_writer_flush(ma_capture_writer *w)
{
	return compress(w, NULL, 0, ZSTD_e_flush);
}

int ma_capture_writer_publish(ma_capture_writer *w)
{
	int e = ma_outfile_publish(&w->of);
	return e < 0 ? wfail(w, -e, "publish") : 0;
}

int ma_capture_writer_restart(ma_capture_writer *w)
{
	ZSTD_CCtx_reset(w->cctx, ZSTD_reset_session_only);
	w->failed = 0;
	w->err[0] = 0;
	w->bytes = 0;
	if (ftruncate(w->fd, 0) < 0 || lseek(w->fd, 0, SEEK_SET) < 0)
		return wfail(w, errno, "empty");
	return write_header(w);
}

const char *ma_capture_writer_data_path(const ma_capture_writer *w, char *buf, size_t len)
{
	return ma_outfile_data_path(&w->of, buf, len);
}

static void free_writer(ma_capture_writer *w, int rc)
{
	last_close_err[0] = 0;
	last_closed = (uintptr_t)w;
	if (rc < 0)
		snprintf(last_close_err, sizeof last_close_err, "%s", w->err);
	ZSTD_freeCCtx(w->cctx);
	free(w->out);
	free(w->rec);
	free(w->path);
	free(w);
}

int ma_capture_writer_close(ma_capture_writer *w)
{
	if (!w)
		return 0;
	/* What was written stays, also after a write error: a capture cut by
	 * a full disk reads up to its last whole record. */
	int rc = compress(w, NULL, 0, ZSTD_e_end);
	int e = ma_outfile_commit(&w->of);
	if (e < 0 && rc == 0)
		rc = wfail(w, -e, "close");
	free_writer(w, rc);
	return rc;
}

void ma_capture_writer_abandon(ma_capture_writer *w)
{
	if (!w)
		return;
	ma_outfile_abandon(&w->of);
	free_writer(w, 0);
}

const char *ma_capture_writer_error(const ma_capture_writer *w)
{
	if (!w || (uintptr_t)w == last_closed)
		return last_close_err[0] ? last_close_err : "no error";
	return w->err[0] ? w->err : "no error";
}

uint64_t ma_capture_writer_bytes(const ma_capture_writer *w)
{
	return w->bytes;
}

/* ---------------------------------------------------------------- reader */

/* Records are unpacked into slabs with a bump allocator: no malloc per
 * record.  A record starts with a pointer to its slab; the slab is freed or
 * reused when no record in it is still held. */
typedef struct slab {
	size_t cap, used;
	long refs;              /* records handed out + 1 while it is current */
	int overflow;           /* an allocation did not fit */
	uint8_t *mem;
} slab;

#define SLAB_SIZE (256u << 10)
/* Set when the layout check in unpack() fails; records then use malloc. */
static int malloc_mode;
#define SLAB_ALIGN 16

struct ma_capture_reader {
	int fd;
	char *path;
	uint64_t file_size;
	uint64_t in_off;        /* file offset of inbuf[0] */
	ZSTD_DCtx *dctx;
	uint8_t *inbuf;
	size_t in_cap, in_pos, in_len;
	int eof;                /* read() returned 0 */
	size_t frame_rem;       /* last ZSTD_decompressStream hint: 0 = frame ended */
	uint64_t frame_start;   /* file offset of the current frame */
	/* Decompressed, not yet parsed: [d_pos, d_commit) is verified (its
	 * frame's checksum matched, or it was forced out, see fill());
	 * [d_commit, d_len) waits for the end of its frame. */
	uint8_t *dbuf;
	size_t d_cap, d_pos, d_len, d_commit;
	uint64_t d_off;         /* decompressed offset of dbuf[0] */
	slab *cur;
	int seen_trailer, partial, truncated, failed, done, nrec;
	uint64_t kinds;         /* nonzero: return only records of these r_cases (bits) */
	ma_batch_cols cols;     /* EventBatches decoded for next_borrow */
	uint64_t read_to;       /* file offset read so far (atomic: progress) */
	ma_capture_damage damage;
	char err[512];
};

/* Records may be freed on another thread than the reader's (the replay's
 * applier, replay_pipe.c): the count is atomic. */
static void slab_unref(slab *s)
{
	if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(s->mem);
		free(s);
	}
}

static slab *slab_new(size_t cap)
{
	slab *s = malloc(sizeof *s);
	if (!s)
		return NULL;
	s->mem = malloc(cap);
	if (!s->mem) {
		free(s);
		return NULL;
	}
	s->cap = cap;
	s->used = 0;
	s->refs = 1;
	s->overflow = 0;
	return s;
}

static void *slab_alloc(void *data, size_t size)
{
	slab *s = data;
	size_t n = (size + SLAB_ALIGN - 1) & ~(size_t)(SLAB_ALIGN - 1);
	if (n < size || n > s->cap - s->used) {
		s->overflow = 1;
		return NULL;
	}
	void *p = s->mem + s->used;
	s->used += n;
	return p;
}

static void slab_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

static int rfail(ma_capture_reader *r, const char *fmt, const char *detail)
{
	r->failed = 1;
	char what[256];
	snprintf(what, sizeof what, fmt, detail);
	snprintf(r->err, sizeof r->err,
		 "%s: corrupt capture at compressed byte %llu (record %d, decompressed byte %llu): %s",
		 r->path, (unsigned long long)ma_capture_reader_offset(r), r->nrec,
		 (unsigned long long)(r->d_off + r->d_pos), what);
	return -1;
}

ma_capture_reader *ma_capture_reader_open(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open capture %s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "cannot read capture %s: %s", path,
			 S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
		close(fd);
		return NULL;
	}
	uint8_t hdr[HEADER_LEN];
	size_t got = 0;
	while (got < sizeof hdr) {
		ssize_t k = read(fd, hdr + got, sizeof hdr - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, errlen, "cannot read capture %s: %s", path, strerror(errno));
			close(fd);
			return NULL;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got < MA_CAPTURE_MAGIC_LEN || memcmp(hdr, MA_CAPTURE_MAGIC, MA_CAPTURE_MAGIC_LEN)) {
		snprintf(err, errlen, "%s is not a memattach capture (%s)", path,
			 got == 0 ? "empty file" : "bad magic");
		close(fd);
		return NULL;
	}
	if (got < sizeof hdr) {
		snprintf(err, errlen, "%s: capture truncated inside its 12-byte file header", path);
		close(fd);
		return NULL;
	}
	uint32_t ver = 0;
	for (int i = 0; i < 4; i++)
		ver |= (uint32_t)hdr[MA_CAPTURE_MAGIC_LEN + i] << (8 * i);
	if (ver != MA_CAPTURE_CONTAINER_VERSION) {
		snprintf(err, errlen,
			 "%s: capture container version %u is %s than this memattach supports (%u)%s",
			 path, ver, ver > MA_CAPTURE_CONTAINER_VERSION ? "newer" : "other",
			 MA_CAPTURE_CONTAINER_VERSION,
			 ver > MA_CAPTURE_CONTAINER_VERSION ? ": upgrade memattach to read it" : "");
		close(fd);
		return NULL;
	}
	ma_capture_reader *r = calloc(1, sizeof *r);
	if (!r)
		goto oom;
	r->fd = fd;
	r->file_size = (uint64_t)st.st_size;
	r->in_off = r->frame_start = HEADER_LEN;
	r->path = strdup(path);
	r->in_cap = ZSTD_DStreamInSize();
	r->inbuf = malloc(r->in_cap);
	r->d_cap = 1u << 20;
	r->dbuf = malloc(r->d_cap);
	r->dctx = ZSTD_createDCtx();
	/* The writer's frames use a 2 MiB window; a forged frame must not
	 * make the reader allocate more (the frame is then damaged). */
	if (r->dctx)
		ZSTD_DCtx_setParameter(r->dctx, ZSTD_d_windowLogMax, 23);
	if (!r->path || !r->inbuf || !r->dbuf || !r->dctx) {
		ma_capture_reader_close(r);
		goto oom_noclose;
	}
	return r;
oom:
	close(fd);
oom_noclose:
	snprintf(err, errlen, "out of memory opening %s", path);
	return NULL;
}

/* A frame's bytes are held back until its checksum matched, so damage
 * loses exactly its frame.  Frames of older writers can be the whole file:
 * past this much, held bytes are let through unverified. */
#define HOLD_MAX (16u << 20)

static const uint8_t zstd_magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };

/* File offset of the next zstd frame magic at or after `from`, or the
 * file's size when there is none. */
static uint64_t next_frame(ma_capture_reader *r, uint64_t from)
{
	uint8_t buf[65536];
	for (;;) {
		ssize_t k = pread(r->fd, buf, sizeof buf, (off_t)from);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < (ssize_t)sizeof zstd_magic)
			return r->file_size > from ? r->file_size : from;
		for (ssize_t i = 0; i + 4 <= k; i++)
			if (!memcmp(buf + i, zstd_magic, 4))
				return from + (uint64_t)i;
		from += (uint64_t)k - 3;
	}
}

/* The frame being decoded is damaged: forget what it gave (and a record
 * cut by the damage), note the lost range and go on at the next frame. */
static int salvage(ma_capture_reader *r, size_t zerr)
{
	uint64_t from = r->frame_start;
	uint64_t to = next_frame(r, from + 1);
	ma_capture_damage *d = &r->damage;
	if (!d->ranges++) {
		d->first_from = from;
		d->first_to = to;
		snprintf(d->first_error, sizeof d->first_error, "%s", ZSTD_getErrorName(zerr));
	}
	d->bytes += to - from;
	r->d_len = r->d_commit = r->d_pos;   /* a record cut here is lost too */
	ZSTD_DCtx_reset(r->dctx, ZSTD_reset_session_only);
	if (lseek(r->fd, (off_t)to, SEEK_SET) < 0)
		return rfail(r, "zstd: %s (and the file cannot be searched for the next frame)",
			     ZSTD_getErrorName(zerr));
	r->in_off = r->frame_start = to;
	r->in_pos = r->in_len = 0;
	r->frame_rem = 0;
	r->eof = 0;
	return 0;
}

static int grow_dbuf(ma_capture_reader *r, size_t want)
{
	if (want <= r->d_cap && r->d_cap - r->d_len >= ZSTD_DStreamOutSize() / 4)
		return 0;
	size_t cap = r->d_cap;
	while (cap < want || cap - r->d_len < ZSTD_DStreamOutSize() / 4)
		cap *= 2;
	uint8_t *p = realloc(r->dbuf, cap);
	if (!p) {
		snprintf(r->err, sizeof r->err, "out of memory reading %s", r->path);
		r->failed = 1;
		return -1;
	}
	r->dbuf = p;
	r->d_cap = cap;
	return 0;
}

/* Reads more compressed input.  1: some, 0: end of file, -1: error. */
static int read_input(ma_capture_reader *r)
{
	r->in_off += r->in_len;
	r->in_pos = r->in_len = 0;
	ssize_t k;
	do
		k = read(r->fd, r->inbuf, r->in_cap);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		snprintf(r->err, sizeof r->err, "cannot read capture %s: %s", r->path, strerror(errno));
		r->failed = 1;
		return -1;
	}
	if (k == 0) {
		r->eof = 1;
		return 0;
	}
	r->in_len = (size_t)k;
	__atomic_store_n(&r->read_to, r->in_off + r->in_len, __ATOMIC_RELAXED);
	return 1;
}

/* Decompresses until more verified bytes are in dbuf, keeping [d_pos,
 * d_len) and making room for at least `want` bytes in all.  Returns 1 when
 * bytes were added, 0 at the end of the file, -1 on error. */
static int fill(ma_capture_reader *r, size_t want)
{
	if (r->d_pos > 0) {
		memmove(r->dbuf, r->dbuf + r->d_pos, r->d_len - r->d_pos);
		r->d_len -= r->d_pos;
		r->d_commit -= r->d_pos;
		r->d_off += r->d_pos;
		r->d_pos = 0;
	}
	size_t before = r->d_commit;
	while (r->d_commit == before) {
		if (grow_dbuf(r, want) < 0)
			return -1;
		if (r->in_pos == r->in_len) {
			int k = r->eof ? 0 : read_input(r);
			if (k < 0)
				return -1;
			if (k == 0) {
				/* A frame cut by the end (a killed writer): what
				 * decoded is all there is. */
				r->d_commit = r->d_len;
				return r->d_commit > before;
			}
		}
		ZSTD_inBuffer in = { r->inbuf, r->in_len, r->in_pos };
		ZSTD_outBuffer out = { r->dbuf, r->d_cap, r->d_len };
		size_t rc = ZSTD_decompressStream(r->dctx, &out, &in);
		r->in_pos = in.pos;
		r->d_len = out.pos;
		if (ZSTD_isError(rc)) {
			if (salvage(r, rc) < 0)
				return -1;
			continue;
		}
		r->frame_rem = rc;
		if (rc == 0) {
			r->d_commit = r->d_len;
			r->frame_start = r->in_off + r->in_pos;
		} else if (r->d_len - r->d_commit > HOLD_MAX) {
			r->d_commit = r->d_len;
		}
	}
	return 1;
}

/* Unpacks [p, p+len) into a slab; retries in a bigger slab of its own when
 * the record does not fit.  NULL with r->err set on failure. */
static Memattach__Record *unpack(ma_capture_reader *r, const uint8_t *p, size_t len)
{
	size_t need = 64 * len + 4096;
	if (malloc_mode) {
		Memattach__Record *rec = memattach__record__unpack(NULL, len, p);
		if (!rec)
			rfail(r, "%s", "record does not decode (invalid protobuf)");
		return rec;
	}
	size_t cap = SLAB_SIZE;
	for (int attempt = 0; attempt < 4; attempt++) {
		if (attempt == 0 && r->cur && __atomic_load_n(&r->cur->refs, __ATOMIC_ACQUIRE) == 1) {
			r->cur->used = 0;       /* every record in it was freed: reuse */
		} else if (attempt > 0 || !r->cur || r->cur->cap - r->cur->used < 4 * SLAB_ALIGN) {
			if (attempt > 0) {
				if (r->cur->used == 0)  /* a whole fresh slab was too small */
					cap *= 4;
				if (cap < need)
					cap = need;
			}
			slab *s = slab_new(cap);
			if (!s) {
				snprintf(r->err, sizeof r->err, "out of memory reading %s", r->path);
				r->failed = 1;
				return NULL;
			}
			if (r->cur)
				slab_unref(r->cur);
			r->cur = s;
		}
		slab *s = r->cur;
		size_t mark = s->used;
		s->overflow = 0;
		slab **back = slab_alloc(s, sizeof(slab *));
		if (back) {
			ProtobufCAllocator a = { slab_alloc, slab_free, s };
			Memattach__Record *rec = memattach__record__unpack(&a, len, p);
			if (rec && (uint8_t *)rec == (uint8_t *)back + SLAB_ALIGN) {
				*back = s;
				__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
				return rec;
			}
			if (rec) {
				/* This protobuf-c does not allocate the message first:
				 * fall back to malloc for good. */
				malloc_mode = 1;
				s->used = mark;
				rec = memattach__record__unpack(NULL, len, p);
				if (rec)
					return rec;
			}
		}
		if (!s->overflow) {
			rfail(r, "%s", "record does not decode (invalid protobuf)");
			return NULL;
		}
		s->used = mark;
	}
	rfail(r, "%s", "record does not decode (needs too much memory)");
	return NULL;
}

/* A Record holds one field of its oneof, whose number is the r_case: the
 * first tag tells the kind without decoding (0: unknown). */
static uint32_t record_kind(const uint8_t *p, size_t len)
{
	uint64_t tag;
	if (!len || ma_varint_get(p, p + len, &tag) <= 0 || tag >> 3 > UINT32_MAX)
		return 0;
	return (uint32_t)(tag >> 3);
}

void ma_capture_reader_only(ma_capture_reader *r, uint32_t r_case)
{
	r->kinds = r_case ? 1ull << (r_case & 63) : 0;
}

void ma_capture_reader_skip(ma_capture_reader *r, uint32_t r_case)
{
	r->kinds = (r->kinds ? r->kinds : ~0ull) & ~(1ull << (r_case & 63));
}

/* The record [p, p+len): an EventBatch decoded into the reader's columns
 * when the caller borrows (*borrowed set), else unpacked by protobuf-c. */
static Memattach__Record *decode(ma_capture_reader *r, const uint8_t *p, size_t len, uint32_t kind,
				 int *borrowed)
{
	if (borrowed && kind == MEMATTACH__RECORD__R_EVENTS) {
		const Memattach__Record *m = ma_batch_decode(&r->cols, p, len);
		if (m) {
			*borrowed = 1;
			return (Memattach__Record *)m;
		}
	}
	return unpack(r, p, len);
}

static void drop(Memattach__Record *m, int borrowed)
{
	if (!borrowed)
		ma_capture_record_free(m);
}

static int next_record(ma_capture_reader *r, Memattach__Record **rec, int *borrowed)
{
	*rec = NULL;
	if (borrowed)
		*borrowed = 0;
	if (r->failed)
		return -1;
	if (r->done)
		return 0;
	for (;;) {
		const uint8_t *p = r->dbuf + r->d_pos, *end = r->dbuf + r->d_commit;
		uint64_t len = 0;
		int k = p < end ? ma_varint_get(p, end, &len) : 0;
		if (k < 0)
			return rfail(r, "%s", "malformed record length");
		if (k > 0 && len > MA_MAX_RECORD_SIZE) {
			char b[96];
			snprintf(b, sizeof b, "%llu bytes (limit %u)", (unsigned long long)len,
				 MA_MAX_RECORD_SIZE);
			return rfail(r, "a record of %s", b);
		}
		if (k > 0 && (uint64_t)(end - p) >= (uint64_t)k + len) {
			uint32_t kind = record_kind(p + k, (size_t)len);
			if (kind == MEMATTACH__RECORD__R_CAPTURE_TRAILER ||
			    kind == MEMATTACH__RECORD__R_AGENT_TRAILER)
				r->seen_trailer = 1;
			if (r->kinds && !(r->kinds >> (kind & 63) & 1)) {
				r->d_pos += (size_t)k + (size_t)len;
				r->nrec++;
				continue;
			}
			Memattach__Record *m = decode(r, p + k, (size_t)len, kind, borrowed);
			if (!m)
				return -1;
			char why[128];
			if (ma_record_check(m, why, sizeof why) < 0) {
				drop(m, borrowed && *borrowed);
				return rfail(r, "%s", why);
			}
			if (m->r_case == MEMATTACH__RECORD__R_HEADER &&
			    m->header->format_major > MA_FORMAT_MAJOR) {
				r->failed = 1;
				snprintf(r->err, sizeof r->err,
					 "%s: capture format %u.%u is newer than this memattach reads (%u.x): upgrade memattach to read it",
					 r->path, m->header->format_major, m->header->format_minor,
					 MA_FORMAT_MAJOR);
				ma_capture_record_free(m);
				return -1;
			}
			r->d_pos += (size_t)k + (size_t)len;
			r->nrec++;
			*rec = m;
			return 1;
		}
		size_t want = k > 0 ? (size_t)k + (size_t)len : (size_t)(end - p) + 16;
		int f = fill(r, want);
		if (f < 0)
			return -1;
		if (f == 0) {
			/* End of file: complete only at a frame end, with no partial
			 * record left and a trailer seen. */
			r->done = 1;
			r->partial = r->d_commit > r->d_pos;
			r->truncated = r->partial || r->frame_rem != 0 || !r->seen_trailer;
			return 0;
		}
	}
}

int ma_capture_reader_next(ma_capture_reader *r, Memattach__Record **rec)
{
	return next_record(r, rec, NULL);
}

int ma_capture_reader_next_borrow(ma_capture_reader *r, Memattach__Record **rec, int *borrowed)
{
	return next_record(r, rec, borrowed);
}

void ma_capture_record_free(Memattach__Record *rec)
{
	if (!rec)
		return;
	if (malloc_mode)
		memattach__record__free_unpacked(rec, NULL);
	else
		slab_unref(*(slab **)((uint8_t *)rec - SLAB_ALIGN));
}

int ma_capture_reader_truncated(const ma_capture_reader *r)
{
	return r->truncated;
}

const char *ma_capture_reader_error(const ma_capture_reader *r)
{
	return r->err[0] ? r->err : "no error";
}

const ma_capture_damage *ma_capture_reader_damage(const ma_capture_reader *r)
{
	return &r->damage;
}

uint64_t ma_capture_reader_offset(const ma_capture_reader *r)
{
	return r->in_off + r->in_pos;
}

uint64_t ma_capture_reader_progress(const ma_capture_reader *r)
{
	return __atomic_load_n(&r->read_to, __ATOMIC_RELAXED);
}

uint64_t ma_capture_reader_size(const ma_capture_reader *r)
{
	return r->file_size;
}

void ma_capture_reader_close(ma_capture_reader *r)
{
	if (!r)
		return;
	if (r->cur)
		slab_unref(r->cur);
	ma_batch_cols_free(&r->cols);
	ZSTD_freeDCtx(r->dctx);
	if (r->fd >= 0)
		close(r->fd);
	free(r->inbuf);
	free(r->dbuf);
	free(r->path);
	free(r);
}

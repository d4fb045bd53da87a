/* symbol_cache.c — Symbol records kept from one capture to the next, by
 * build id (see symbol_cache.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli/capture/capture_file.h"
#include "cli/symbols/symbol_cache.h"
#include "cli/util/u64map.h"

#define MAX_SYMS (1u << 16)             /* per module: a bound on the file */
#define MAX_FILE_BYTES (64u << 20)
#define MAX_FILES 512                   /* in the directory, oldest go first */
#define MAX_CANDIDATES 2

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct ma_symcache {
	uint8_t bid[64];
	size_t bidlen;
	unsigned uid;
	uint64_t sig;
	struct file_id debug[MAX_CANDIDATES];   /* the debug files the signature covers */
	int ndebug;
	ma_u64map by_off;                       /* module offset -> index */
	struct entry {
		const Memattach__Symbol *s;
		/* the loaded record s lives in, kept with it; NULL: s is a copy */
		Memattach__Record *owner;
	} *e;
	size_t n, cap;
	int dirty;
	struct ma_symcache *next;
};

static struct ma_symcache *caches;

static int cache_off(void)
{
	const char *v = getenv("MEMATTACH_SYMBOL_CACHE");
	return v && (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no"));
}

/* Whether dir is ours: root under sudo with the user's HOME kept must
 * not leave files there that the user cannot replace. */
static int owned(const char *dir)
{
	struct stat st;
	return stat(dir, &st) == 0 && st.st_uid == geteuid();
}

/* The cache directory into buf; 0, or -1 when there is none. */
static int cache_dir(char *buf, size_t len)
{
	const char *d = getenv("MEMATTACH_CACHE_DIR"), *x = getenv("XDG_CACHE_HOME"),
		   *h = getenv("HOME");
	int n;
	if (d && *d)
		n = snprintf(buf, len, "%s/symbols", d);
	else if (x && x[0] == '/' && owned(x))
		n = snprintf(buf, len, "%s/memattach/symbols", x);
	else if (h && h[0] == '/' && owned(h))
		n = snprintf(buf, len, "%s/.cache/memattach/symbols", h);
	else
		return -1;
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* <root>/usr/lib/debug/.build-id/ab/cdef....debug, as target_files.c looks. */
static int build_id_path(char *p, size_t len, const char *root, const uint8_t *bid, size_t n)
{
	int k = snprintf(p, len, "%s/usr/lib/debug/.build-id/%02x/", root, bid[0]);
	for (size_t i = 1; i < n && k > 0 && (size_t)k + 8 < len; i++)
		k += snprintf(p + k, len - (size_t)k, "%02x", bid[i]);
	return k > 0 && (size_t)k + 8 < len ? (snprintf(p + k, len - (size_t)k, ".debug"), 0) : -1;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* The signature of the debug files found by build id under prefix and
 * under / (the same file twice counts once). */
static void sign(struct ma_symcache *c, const char *prefix)
{
	const char *roots[MAX_CANDIDATES] = { prefix, "" };
	uint64_t h = 0xcbf29ce484222325ull;
	for (int r = 0; r < MAX_CANDIDATES; r++) {
		char p[PATH_MAX];
		struct stat st;
		if (build_id_path(p, sizeof p, roots[r], c->bid, c->bidlen) < 0 || stat(p, &st) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		int seen = 0;
		for (int i = 0; i < c->ndebug; i++)
			seen |= c->debug[i].dev == st.st_dev && c->debug[i].ino == st.st_ino;
		if (seen)
			continue;
		c->debug[c->ndebug++] = (struct file_id){ st.st_dev, st.st_ino };
		uint64_t v[5] = { st.st_dev, st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
				  (uint64_t)st.st_mtim.tv_nsec };
		h = fnv(h, v, sizeof v);
	}
	c->sig = h;
}

/* "<build id>-u<uid>-" into p. */
static int name_prefix(const struct ma_symcache *c, char *p, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < c->bidlen && k + 3 < len; i++)
		k += (size_t)snprintf(p + k, len - k, "%02x", c->bid[i]);
	int n = snprintf(p + k, len - k, "-u%u-", c->uid);
	return n > 0 && (size_t)n < len - k ? 0 : -1;
}

static int file_path(const struct ma_symcache *c, char *p, size_t len)
{
	char dir[PATH_MAX], pre[160];
	if (cache_dir(dir, sizeof dir) < 0 || name_prefix(c, pre, sizeof pre) < 0)
		return -1;
	int n = snprintf(p, len, "%s/%s%016llx.msym", dir, pre, (unsigned long long)c->sig);
	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* Room for one more entry. */
static int grow(struct ma_symcache *c)
{
	if (c->n < c->cap)
		return 0;
	if (c->n >= MAX_SYMS)
		return -1;
	size_t cap = c->cap ? c->cap * 2 : 64;
	struct entry *e = realloc(c->e, cap * sizeof *e);
	if (!e)
		return -1;
	c->e = e;
	c->cap = cap;
	return 0;
}

/* Takes s (in owner, or a copy of its own when owner is NULL). */
static int add(struct ma_symcache *c, const Memattach__Symbol *s, Memattach__Record *owner)
{
	uint32_t *slot;
	if (grow(c) < 0 || !(slot = ma_u64map_slot(&c->by_off, s->module_offset)))
		return -1;
	if (*slot != UINT32_MAX)
		return -1;   /* one record an offset: the first stays */
	*slot = (uint32_t)c->n;
	c->e[c->n++] = (struct entry){ s, owner };
	return 0;
}

/* Reads the cache's file, if there is one: whatever is not a whole,
 * readable Symbol record is left out. */
static void load(struct ma_symcache *c)
{
	char path[PATH_MAX], err[256];
	struct stat st;
	if (file_path(c, path, sizeof path) < 0 || stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > MAX_FILE_BYTES)
		return;
	ma_capture_reader *r = ma_capture_reader_open(path, err, sizeof err);
	if (!r)
		return;
	ma_capture_reader_only(r, MEMATTACH__RECORD__R_SYMBOL);
	Memattach__Record *rec;
	while (c->n < MAX_SYMS && ma_capture_reader_next(r, &rec) > 0) {
		if (rec->r_case != MEMATTACH__RECORD__R_SYMBOL || add(c, rec->symbol, rec) < 0)
			ma_capture_record_free(rec);
	}
	ma_capture_reader_close(r);
}

ma_symcache *ma_symcache_of(const uint8_t *build_id, size_t len, const char *prefix, unsigned uid)
{
	char dir[PATH_MAX];
	if (!len || len > sizeof caches->bid || cache_off() || cache_dir(dir, sizeof dir) < 0)
		return NULL;
	struct ma_symcache k = { .bidlen = len, .uid = uid };
	memcpy(k.bid, build_id, len);
	sign(&k, prefix ? prefix : "");
	for (struct ma_symcache *c = caches; c; c = c->next)
		if (c->bidlen == len && !memcmp(c->bid, build_id, len) && c->uid == uid && c->sig == k.sig)
			return c;
	struct ma_symcache *c = malloc(sizeof *c);
	if (!c)
		return NULL;
	*c = k;
	load(c);
	c->next = caches;
	caches = c;
	return c;
}

const Memattach__Symbol *ma_symcache_get(const ma_symcache *c, uint64_t off)
{
	uint32_t i = c ? ma_u64map_get(&c->by_off, off) : UINT32_MAX;
	return i == UINT32_MAX ? NULL : c->e[i].s;
}

int ma_symcache_may_keep(const ma_symcache *c, Dwfl_Module *m)
{
	Dwarf_Addr bias;
	const char *main = NULL, *debug = NULL;
	struct stat st;
	if (!c || !m || !dwfl_module_getdwarf(m, &bias))
		return 0;   /* names from the symbol table: a debug file may come */
	dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, &main, &debug);
	if (!debug || (main && !strcmp(debug, main)))
		return 1;   /* the module's own DWARF: its build id says it all */
	if (stat(debug, &st) != 0)
		return 0;
	for (int i = 0; i < c->ndebug; i++)
		if (c->debug[i].dev == st.st_dev && c->debug[i].ino == st.st_ino)
			return 1;
	return 0;           /* found by .gnu_debuglink: not in the signature */
}

int ma_symcache_put(ma_symcache *c, const Memattach__Symbol *s)
{
	if (!c || c->n >= MAX_SYMS || ma_symcache_get(c, s->module_offset))
		return -1;
	Memattach__Symbol copy = *s;
	copy.address = s->module_offset;
	copy.module = "";   /* the module is named by the capture's own record */
	size_t len = memattach__symbol__get_packed_size(&copy);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return -1;
	memattach__symbol__pack(&copy, buf);
	Memattach__Symbol *own = memattach__symbol__unpack(NULL, len, buf);
	free(buf);
	if (!own || add(c, own, NULL) < 0) {
		if (own)
			memattach__symbol__free_unpacked(own, NULL);
		return -1;
	}
	c->dirty = 1;
	return 0;
}

static int mkdirs(const char *dir)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", dir);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			if (mkdir(p, 0700) != 0 && errno != EEXIST)
				return -1;
			*s = '/';
		}
	return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

/* Removes the module's files of other signatures, and the oldest files
 * past MAX_FILES. */
static void prune(const struct ma_symcache *c, const char *dir, const char *keep)
{
	char pre[160], p[PATH_MAX + NAME_MAX + 2], oldest[NAME_MAX + 1] = "";
	struct timespec old = { 0, 0 };
	size_t files = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d || name_prefix(c, pre, sizeof pre) < 0) {
		if (d)
			closedir(d);
		return;
	}
	time_t now = time(NULL);
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		/* what a writer killed while saving left (outfile.c's names) */
		if (n > 5 && !strcmp(e->d_name + n - 5, ".part") && strstr(e->d_name, ".msym.") &&
		    lstat(p, &st) == 0 && st.st_mtime < now - 600) {
			unlink(p);
			continue;
		}
		if (n < 6 || strcmp(e->d_name + n - 5, ".msym"))
			continue;
		if (!strncmp(e->d_name, pre, strlen(pre)) && strcmp(p, keep)) {
			unlink(p);
			continue;
		}
		files++;
		if (lstat(p, &st) == 0 && strcmp(p, keep) &&
		    (!oldest[0] || st.st_mtim.tv_sec < old.tv_sec)) {
			old = st.st_mtim;
			snprintf(oldest, sizeof oldest, "%s", e->d_name);
		}
	}
	closedir(d);
	if (files > MAX_FILES && oldest[0]) {
		snprintf(p, sizeof p, "%s/%s", dir, oldest);
		unlink(p);
	}
}

static void save(struct ma_symcache *c)
{
	char dir[PATH_MAX], path[PATH_MAX], err[256];
	if (cache_dir(dir, sizeof dir) < 0 || mkdirs(dir) < 0 || file_path(c, path, sizeof path) < 0)
		return;
	ma_capture_writer *w = ma_capture_writer_open(path, err, sizeof err);
	if (!w)
		return;
	int rc = 0;
	for (size_t i = 0; i < c->n && rc == 0; i++) {
		Memattach__Record rec = MEMATTACH__RECORD__INIT;
		rec.r_case = MEMATTACH__RECORD__R_SYMBOL;
		rec.symbol = (Memattach__Symbol *)c->e[i].s;
		rc = ma_capture_writer_write_record(w, &rec);
	}
	if (rc != 0) {
		ma_capture_writer_abandon(w);
		return;
	}
	if (ma_capture_writer_close(w) == 0) {
		c->dirty = 0;
		prune(c, dir, path);
	}
}

void ma_symcache_save_all(void)
{
	for (struct ma_symcache *c = caches; c; c = c->next)
		if (c->dirty)
			save(c);
}

/* py_code.c — reads code objects and strings of the interpreter: line
 * numbers from the line tables of each format, and str contents.  Runs
 * only when a (code, instruction) pair is seen for the first time. */
#include <string.h>
#include "py_agent.h"

#define TABLE_MAX (1u << 20)    /* longer line tables are taken as garbage */

/* 3.8/3.9 co_lnotab: (address delta, signed line delta) byte pairs. */
static int line_lnotab(const uint8_t *p, size_t n, int line, uint32_t off)
{
	uint32_t addr = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		addr += p[i];
		if (addr > off)
			break;
		line += (int8_t)p[i + 1];
	}
	return line;
}

/* 3.10 co_linetable: (address delta, line delta or -128 = none) pairs,
 * each pair a range ending where the next starts. */
static int line_310(const uint8_t *p, size_t n, int line, uint32_t off)
{
	uint32_t end = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		int8_t ld = (int8_t)p[i + 1];
		end += p[i];
		if (ld != -128)
			line += ld;
		if (off < end)
			return ld == -128 ? 0 : line;
	}
	return 0;
}

static uint32_t varint(const uint8_t **pp, const uint8_t *e)
{
	const uint8_t *p = *pp;
	uint32_t v = 0;
	unsigned shift = 0;
	while (p < e) {
		uint8_t b = *p++;
		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64) || shift > 30)
			break;
	}
	*pp = p;
	return v;
}

static int svarint(const uint8_t **pp, const uint8_t *e)
{
	uint32_t v = varint(pp, e);
	return v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
}

/* 3.11+ location table: entries of a header byte (1 CCCC LLL: code,
 * length-1 in code units) and code-specific payload. */
static int line_311(const uint8_t *p, size_t n, int line, uint32_t off)
{
	const uint8_t *e = p + n;
	uint32_t addr = 0;
	while (p < e) {
		uint8_t h = *p++;
		unsigned code = (h >> 3) & 15, len = (h & 7) + 1u;
		int none = 0;
		if (code == 15) {
			none = 1;
		} else if (code == 14) {
			line += svarint(&p, e);
			varint(&p, e);
			varint(&p, e);
			varint(&p, e);
		} else if (code == 13) {
			line += svarint(&p, e);
		} else if (code >= 10) {
			line += (int)code - 10;
			p += 2;
		} else {
			p += 1;
		}
		addr += len * 2;
		if (off < addr)
			return none ? 0 : line;
	}
	return 0;
}

uint32_t ma_py_code_line(uintptr_t code, uint32_t off)
{
	const struct ma_py_layout *l = &ma_py.l;
	int first = *(const int *)(code + l->co_firstlineno);
	uintptr_t t = ma_py_rd(code + l->co_linetable);
	if (!ma_py_is(t, ma_py.bytes_type))
		return first > 0 ? (uint32_t)first : 0;
	long n = *(const long *)(t + l->bytes_size);
	if (n < 0 || n > TABLE_MAX)
		return 0;
	const uint8_t *p = (const uint8_t *)(t + l->bytes_data);
	int line;
	if (ma_py.l.minor >= 11)
		line = line_311(p, (size_t)n, first, off);
	else if (ma_py.l.minor == 10)
		line = line_310(p, (size_t)n, first, off);
	else
		line = line_lnotab(p, (size_t)n, first, off);
	return line > 0 ? (uint32_t)line : 0;
}

/* str layout: state bits interned:2 kind:3 compact:1 ascii:1 (3.8-3.13);
 * compact data follows the object header. */
static int str_data(uintptr_t s, const uint8_t **data, long *len, unsigned *kind)
{
	const struct ma_py_layout *l = &ma_py.l;
	if (!ma_py_is(s, ma_py.str_type))
		return -1;
	uint32_t st = *(const uint32_t *)(s + l->str_state);
	*kind = (st >> 2) & 7;
	if (!((st >> 5) & 1) || (*kind != 1 && *kind != 2 && *kind != 4))
		return -1;    /* legacy (non-compact) strings: never code names */
	*len = *(const long *)(s + l->str_length);
	if (*len < 0 || *len > (1 << 20))
		return -1;
	*data = (const uint8_t *)(s + ((st >> 6) & 1 ? l->str_ascii_size : l->str_compact_size));
	return 0;
}

static size_t put_utf8(char *b, uint32_t c)
{
	if (c < 0x80) { b[0] = (char)c; return 1; }
	if (c < 0x800) { b[0] = (char)(0xC0 | c >> 6); b[1] = (char)(0x80 | (c & 63)); return 2; }
	if (c < 0x10000) {
		b[0] = (char)(0xE0 | c >> 12); b[1] = (char)(0x80 | ((c >> 6) & 63));
		b[2] = (char)(0x80 | (c & 63)); return 3;
	}
	b[0] = (char)(0xF0 | (c >> 18 & 7)); b[1] = (char)(0x80 | ((c >> 12) & 63));
	b[2] = (char)(0x80 | ((c >> 6) & 63)); b[3] = (char)(0x80 | (c & 63));
	return 4;
}

void ma_py_str_read(uintptr_t s, char *buf, size_t cap)
{
	const uint8_t *d;
	long len;
	unsigned kind;
	size_t o = 0;
	if (str_data(s, &d, &len, &kind) < 0) {
		strcpy(buf, "?");
		return;
	}
	for (long i = 0; i < len && o + 5 < cap; i++) {
		uint32_t c = kind == 1 ? d[i] : kind == 2 ? ((const uint16_t *)d)[i]
				     : ((const uint32_t *)d)[i];
		o += put_utf8(buf + o, c);
	}
	buf[o] = 0;
}

static inline uint64_t word_at(const uint8_t *p, size_t n)
{
	uint64_t w = 0;
	memcpy(&w, p, n < 8 ? n : 8);
	return w;
}

/* Runs on every frame of every event: Python's own hash when it was
 * computed (names are interned, so theirs is), else the length and up to
 * 64 bytes of content read a word at a time — all of a string of up to 64
 * bytes, the first and last 32 of a longer one (file names are seldom
 * hashed, and differ at their ends). */
uint64_t ma_py_str_hash(uintptr_t s)
{
	const uint8_t *d;
	long len;
	unsigned kind;
	if (str_data(s, &d, &len, &kind) < 0)
		return 0;
	int64_t h = *(const int64_t *)(s + ma_py.l.str_hash);
	if (h != -1)
		return (uint64_t)h;
	size_t nb = (size_t)len * kind;
	uint64_t f = nb * 0x9e3779b97f4a7c15ull, m = 0xc2b2ae3d27d4eb4full;
	if (nb <= 64) {
		for (size_t i = 0; i < nb; i += 8, m += 0x165667b19e3779f9ull)
			f += (word_at(d + i, nb - i) ^ m) * m;
	} else {
		for (size_t i = 0; i < 32; i += 8, m += 0x165667b19e3779f9ull)
			f += (word_at(d + i, 8) ^ m) * m;
		for (size_t i = nb - 32; i < nb; i += 8, m += 0x165667b19e3779f9ull)
			f += (word_at(d + i, 8) ^ m) * m;
	}
	f ^= f >> 31;
	return f;
}

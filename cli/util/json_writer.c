/* json_writer.c — see json_writer.h. */
#include <math.h>

#include "cli/util/json_writer.h"
#include "cli/util/visible.h"

void ma_json_init(ma_json *j, FILE *f, int pretty)
{
	j->f = f;
	j->depth = 0;
	j->count[0] = 0;
	j->pretty = pretty;
}

static void indent(ma_json *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Always valid JSON and valid UTF-8 (RFC 8259): controls (C0, DEL, C1)
 * as \u00XX; a byte that is not UTF-8 (a Latin-1 path) as the character
 * of the same value, \u00XX, so "caf\xe9" reads "café". */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		uint32_t cp;
		int n = ma_utf8_char(p, &cp);
		if (n == 0) {
			fprintf(f, "\\u%04x", *p);
			p++;
			continue;
		}
		switch (cp) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
				fprintf(f, "\\u%04x", (unsigned)cp);
			else
				fwrite(p, 1, (size_t)n, f);
		}
		p += n;
	}
	fputc('"', f);
}

/* Comma, newline/indent and key before a value. */
static void prefix(ma_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->count[j->depth]++)
			fputc(',', j->f);
		indent(j);
	}
	if (key) {
		put_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void open_level(ma_json *j, const char *key, char c)
{
	prefix(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < MA_JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
	j->close[j->depth] = c == '{' ? '}' : ']';
}

void ma_json_object(ma_json *j, const char *key) { open_level(j, key, '{'); }
void ma_json_array(ma_json *j, const char *key) { open_level(j, key, '['); }

void ma_json_end(ma_json *j)
{
	if (j->depth == 0)
		return;
	char c = j->close[j->depth];
	int had = j->count[j->depth];
	j->depth--;
	if (had)
		indent(j);
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

void ma_json_str(ma_json *j, const char *key, const char *v)
{
	prefix(j, key);
	if (v)
		put_string(j->f, v);
	else
		fputs("null", j->f);
}

void ma_json_u64(ma_json *j, const char *key, uint64_t v)
{
	prefix(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void ma_json_i64(ma_json *j, const char *key, int64_t v)
{
	prefix(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void ma_json_double(ma_json *j, const char *key, double v)
{
	prefix(j, key);
	if (isfinite(v))
		fprintf(j->f, "%.17g", v);
	else
		fputs("null", j->f);
}

void ma_json_bool(ma_json *j, const char *key, int v)
{
	prefix(j, key);
	fputs(v ? "true" : "false", j->f);
}

void ma_json_null(ma_json *j, const char *key)
{
	prefix(j, key);
	fputs("null", j->f);
}

void ma_json_escape(FILE *f, const char *s)
{
	put_string(f, s ? s : "");
}

void ma_json_put_u64(FILE *f, uint64_t v)
{
	char b[20], *p = b + sizeof b;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	while (p < b + sizeof b)
		putc_unlocked(*p++, f);
}

void ma_json_put_item(FILE *f, size_t i, uint64_t v)
{
	if (i)
		putc_unlocked(',', f);
	ma_json_put_u64(f, v);
}

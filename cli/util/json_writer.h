/* json_writer.h — a streaming JSON writer: commas, nesting and string
 * escaping handled here so report code only says what to write. */
#ifndef MEMATTACH_JSON_WRITER_H
#define MEMATTACH_JSON_WRITER_H

#include <stdint.h>
#include <stdio.h>

#define MA_JSON_MAX_DEPTH 32

typedef struct ma_json {
	FILE *f;
	int depth;
	int count[MA_JSON_MAX_DEPTH];   /* items written at each level */
	char close[MA_JSON_MAX_DEPTH];  /* '}' or ']' for each open level */
	int pretty;
} ma_json;

void ma_json_init(ma_json *j, FILE *f, int pretty);
/* key may be NULL inside arrays / at top level. */
void ma_json_object(ma_json *j, const char *key);
void ma_json_array(ma_json *j, const char *key);
void ma_json_end(ma_json *j);           /* closes the innermost object/array */
void ma_json_str(ma_json *j, const char *key, const char *v);  /* NULL → null */
void ma_json_u64(ma_json *j, const char *key, uint64_t v);
void ma_json_i64(ma_json *j, const char *key, int64_t v);
void ma_json_double(ma_json *j, const char *key, double v);
void ma_json_bool(ma_json *j, const char *key, int v);
void ma_json_null(ma_json *j, const char *key);

/* Writes v in decimal, without a format to parse: for long arrays of
 * numbers (a flame graph's range data has hundreds of thousands). */
void ma_json_put_u64(FILE *f, uint64_t v);
/* Item i of such an array: a comma before all but item 0. */
void ma_json_put_item(FILE *f, size_t i, uint64_t v);

/* Writes s as a quoted, escaped JSON string (for writers that emit JSON
 * without ma_json, e.g. inside HTML/JS). */
void ma_json_escape(FILE *f, const char *s);

#endif

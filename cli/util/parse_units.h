/* parse_units.h — sizes, durations and bounded integers given on the command
 * line.  Each returns 0 on success, or -1 with a one-line message in err
 * naming the bad text and what to write instead (exit with MA_EXIT_USAGE). */
#ifndef MEMATTACH_PARSE_UNITS_H
#define MEMATTACH_PARSE_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "4096", "1.5GiB", "10 MB" → bytes.  B, KB, MB, GB, TB are powers of 1000;
 * KiB, MiB, GiB, TiB powers of 1024; units are case-insensitive; a plain
 * number is bytes.  Fractions round to the nearest byte. */
int ma_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);

/* "90s", "5m", "1h", "250ms", "1.5" → nanoseconds.  Units ns, us, ms, s, m,
 * h, d; a plain number is seconds. */
int ma_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen);

/* A decimal integer in [min, max]; `what` names the option in messages,
 * e.g. "--native-depth". */
int ma_parse_uint_range(const char *s, uint64_t min, uint64_t max,
			const char *what, uint64_t *out, char *err, size_t errlen);

#endif

/* parse_units.c — exact parsing of "1.5GiB", "250ms" and bounded integers:
 * decimal digits are kept as integers (no floating point), so 1.5GiB is
 * exactly 1610612736 and overflow is caught, not wrapped. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli/util/parse_units.h"

typedef struct unit {
	const char *name;
	uint64_t mult;
} unit;

static const unit size_units[] = {
	{ "B", 1 },
	{ "KB", 1000ull }, { "MB", 1000000ull }, { "GB", 1000000000ull },
	{ "TB", 1000000000000ull },
	{ "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 },
	{ "TiB", 1ull << 40 },
	{ NULL, 0 },
};

static const unit duration_units[] = {
	{ "ns", 1 }, { "us", 1000ull }, { "ms", 1000000ull }, { "s", 1000000000ull },
	{ "m", 60000000000ull }, { "h", 3600000000000ull }, { "d", 86400000000000ull },
	{ NULL, 0 },
};

/* Parses "<digits>[.<digits>] [unit]" into value * unit, rounding a
 * fraction to the nearest integer.  `what` is "size" or "duration". */
static int parse_scaled(const char *s, const unit *units, uint64_t plain_mult,
			const char *what, const char *unit_help, uint64_t *out,
			char *err, size_t errlen)
{
	if (!s || !*s) {
		snprintf(err, errlen, "bad %s '': empty (e.g. %s)", what, unit_help);
		return -1;
	}
	const char *p = s;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '-') {
		snprintf(err, errlen, "bad %s '%s': must not be negative", what, s);
		return -1;
	}
	if (*p == '+')
		p++;
	uint64_t ip = 0;
	int digits = 0;
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, (uint64_t)(*p - '0'), &ip))
			goto too_large;
	}
	/* Fraction: up to 18 significant digits, the rest only rounds. */
	uint64_t frac = 0, scale = 1;
	int fdigits = 0;
	if (*p == '.') {
		p++;
		for (; isdigit((unsigned char)*p); p++, fdigits++) {
			if (scale < 1000000000000000000ull) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
	}
	if (digits == 0 && fdigits == 0) {
		snprintf(err, errlen, "bad %s '%s': no number (e.g. %s)", what, s, unit_help);
		return -1;
	}
	while (isspace((unsigned char)*p))
		p++;
	const char *u = p;
	size_t ulen = strlen(u);
	while (ulen && isspace((unsigned char)u[ulen - 1]))
		ulen--;
	uint64_t mult = plain_mult;
	if (ulen) {
		mult = 0;
		for (const unit *x = units; x->name; x++)
			if (strlen(x->name) == ulen && !strncasecmp(x->name, u, ulen)) {
				/* "m" is minutes; "M..." sizes are fine case-insensitive */
				mult = x->mult;
				break;
			}
		if (!mult) {
			snprintf(err, errlen, "bad %s '%s': unknown unit '%.*s' (use %s)", what, s,
				 (int)ulen, u, unit_help);
			return -1;
		}
	}
	uint64_t v;
	if (__builtin_mul_overflow(ip, mult, &v))
		goto too_large;
	/* frac/scale * mult, rounded to nearest, in 128 bits. */
	unsigned __int128 f = (unsigned __int128)frac * mult;
	uint64_t fr = (uint64_t)((f + scale / 2) / scale);
	if (__builtin_add_overflow(v, fr, &v))
		goto too_large;
	*out = v;
	return 0;
too_large:
	snprintf(err, errlen, "bad %s '%s': too large", what, s);
	return -1;
}

int ma_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
	return parse_scaled(s, size_units, 1, "size", "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB",
			    bytes, err, errlen);
}

int ma_parse_duration(const char *s, uint64_t *ns, char *err, size_t errlen)
{
	return parse_scaled(s, duration_units, 1000000000ull, "duration",
			    "ns, us, ms, s, m, h, d; a plain number is seconds", ns, err, errlen);
}

int ma_parse_uint_range(const char *s, uint64_t min, uint64_t max,
			const char *what, uint64_t *out, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	uint64_t v = 0;
	int ok = *p != 0;
	for (; *p; p++) {
		if (!isdigit((unsigned char)*p) ||
		    __builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v)) {
			ok = 0;
			break;
		}
	}
	if (!ok || v < min || v > max) {
		snprintf(err, errlen, "bad %s '%s': must be a whole number from %llu to %llu",
			 what, s ? s : "", (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

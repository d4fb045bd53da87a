/* visible.c — see visible.h.  A name such as "\x1b]0;owned\a" printed raw
 * would retitle, recolour or (on some terminals) feed input to the
 * terminal of whoever reads the report. */
#include <stdio.h>
#include <string.h>

#include "cli/util/visible.h"

int ma_utf8_char(const unsigned char *p, uint32_t *cp)
{
	unsigned char c = p[0];
	int n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;       /* also stops at the NUL */
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

const char *ma_visible(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	if (!len)
		return buf;
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;) {
		char esc[8];
		uint32_t cp;
		int n = ma_utf8_char(p, &cp);
		const char *piece = (const char *)p;
		size_t plen = (size_t)n;
		if (n == 0 || cp < 0x20 || cp == 0x7f) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			piece = esc, plen = 4, n = 1;
		} else if (cp >= 0x80 && cp <= 0x9f) {
			snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
			piece = esc, plen = 6;
		}
		if (o + plen >= len)
			break;
		memcpy(buf + o, piece, plen);
		o += plen;
		p += n;
	}
	buf[o] = 0;
	return buf;
}

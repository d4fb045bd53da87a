/* visible.h — strings from a capture (function, file, thread and module
 * names, command lines: all chosen by the profiled program) made safe to
 * print on a terminal, and the UTF-8 check the JSON writer shares. */
#ifndef MEMATTACH_VISIBLE_H
#define MEMATTACH_VISIBLE_H

#include <stddef.h>
#include <stdint.h>

/* Copies s into buf with every character a terminal could act on written
 * out as text: C0 controls and DEL as \xHH (ESC is \x1b), C1 controls
 * (U+0080..U+009F) as \u0080..\u009f, bytes that are not UTF-8 as \xHH.
 * Other UTF-8 passes unchanged.  Cut short (at a whole character) when
 * buf is too small.  Returns buf; NULL s gives "". */
const char *ma_visible(const char *s, char *buf, size_t len);

/* Length (1..4) of the well-formed UTF-8 character at p (RFC 3629: no
 * overlong forms, no surrogates, at most U+10FFFF), its code point in *cp;
 * 0 when p does not start one.  p must be NUL-terminated. */
int ma_utf8_char(const unsigned char *p, uint32_t *cp);

#endif

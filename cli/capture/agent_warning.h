/* agent_warning.h — the agent's warnings (Warning records), shown to the
 * user.  Their text comes from the target's process: untrusted. */
#ifndef MEMATTACH_AGENT_WARNING_H
#define MEMATTACH_AGENT_WARNING_H

#include <stddef.h>
#include <stdio.h>

/* At most the first 512 bytes of text into buf (NUL-terminated), with
 * what a terminal could act on written out (ma_visible). */
const char *ma_agent_warning_text(const char *text, char *buf, size_t len);
/* "memattach: warning: TEXT" on f, one line. */
void ma_print_agent_warning(FILE *f, const char *text);

#endif

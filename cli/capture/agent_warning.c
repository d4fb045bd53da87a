/* agent_warning.c — a warning the agent sent in the stream, made safe to
 * print: the text comes from the target's process, and bytes that could
 * drive a terminal are shown escaped. */
#include "cli/capture/agent_warning.h"

#define MAX_TEXT 512

const char *ma_agent_warning_text(const char *text, char *buf, size_t len)
{
	size_t n = 0;
	if (!len)
		return "";
	for (size_t i = 0; text && text[i] && i < MAX_TEXT && n + 5 < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c < 0x20 || c >= 0x7f)
			n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	buf[n] = 0;
	return buf;
}

void ma_print_agent_warning(FILE *f, const char *text)
{
	char line[MAX_TEXT * 4 + 8];
	fprintf(f, "memattach: warning: %s\n", ma_agent_warning_text(text, line, sizeof(line)));
}

/* agent_warning.c — a warning the agent sent in the stream, made safe to
 * print: the text comes from the target's process, and bytes that could
 * drive a terminal are shown escaped (ma_visible, as every name from a
 * capture). */
#include "cli/capture/agent_warning.h"
#include "cli/util/visible.h"

#define MAX_TEXT 512

const char *ma_agent_warning_text(const char *text, char *buf, size_t len)
{
	char cut[MAX_TEXT + 1];
	snprintf(cut, sizeof cut, "%s", text ? text : "");
	return ma_visible(cut, buf, len);
}

void ma_print_agent_warning(FILE *f, const char *text)
{
	char line[MAX_TEXT * 4 + 8];
	fprintf(f, "memattach: warning: %s\n", ma_agent_warning_text(text, line, sizeof(line)));
}

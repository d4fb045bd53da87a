/* agent_deps.h — the agent's libraries (not glibc's), to copy beside it. */
#ifndef MEMATTACH_AGENT_DEPS_H
#define MEMATTACH_AGENT_DEPS_H

#include <limits.h>

#define MA_AGENT_DEPS_MAX 16

struct ma_agent_deps {
	int n;
	char soname[MA_AGENT_DEPS_MAX][64];
	char path[MA_AGENT_DEPS_MAX][PATH_MAX];   /* this machine's file */
	char missing[64];                         /* on failure: what was not found */
	int norder;
	int order[MA_AGENT_DEPS_MAX];             /* indexes, each after those it needs */
};

/* Every library the agent at path needs, directly or through another,
 * except glibc's own, with the file this machine's loader uses.  0, or -1
 * (d->missing names a library not found, or the agent is unreadable). */
int ma_agent_deps(const char *agent, struct ma_agent_deps *d);

#endif

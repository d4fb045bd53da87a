/* agent_build_id.h — is the agent a target maps ours, by build id. */
#ifndef MEMATTACH_AGENT_BUILD_ID_H
#define MEMATTACH_AGENT_BUILD_ID_H

#include <stdint.h>
#include <sys/types.h>

/* 1 when the ELF image pid maps at start (offset 0, up to end) has the
 * GNU build id of the file agent; 0 otherwise or when unreadable. */
int ma_agent_build_id_matches(pid_t pid, uint64_t start, uint64_t end, const char *agent);

#endif

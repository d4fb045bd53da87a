/* agent_place.h — which agent file the target is to dlopen. */
#ifndef MEMATTACH_AGENT_PLACE_H
#define MEMATTACH_AGENT_PLACE_H

#include <stddef.h>
#include <sys/types.h>
#include "cli/capture/session_dir.h"

enum {
	MA_AGENT_PLACE_OK = 0,
	MA_AGENT_PLACE_ERROR = -1,     /* the copy could not be made */
	MA_AGENT_PLACE_FOREIGN = -2,   /* the target maps a library of our name that is not our agent */
	MA_AGENT_PLACE_DENIED = -3,    /* the target may not load it (seccomp) */
};

/* Writes to out the path the target opens: the agent it already maps,
 * when that is byte for byte ours; else the installed agent when the
 * target's user is ours and it sees the very same file; else a private
 * copy (root-owned, 0555) in a directory of memattach's kept while the
 * target runs (session_dir.h).  An MA_AGENT_PLACE_*
 * code; err says why on failure. */
int ma_agent_place(pid_t pid, const char *agent, uid_t uid,
		   char *out, size_t len, char *err, size_t errlen);

/* For a target in another root (a container): the agent it already maps
 * when that is ours, else copies of the agent and of the libraries it
 * needs besides glibc (agent_deps.h), root's and 0555, into d, which is
 * inside the target's root (ma_session_dir_create_in_root).  The same
 * codes. */
int ma_agent_place_in_dir(pid_t pid, const char *agent, struct ma_session_dir *d,
			  char *out, size_t len, char *err, size_t errlen);
/* --follow-fork in a container whose agent was loaded by an earlier
 * attach (its copy gone): a new copy with its libraries in d, for the
 * programs the followed children exec to preload (out names it). */
int ma_agent_copy_for_exec(const char *agent, struct ma_session_dir *d, char *out, size_t len,
			   char *err, size_t errlen);

/* For a target whose root has no place at all: the agent it already maps
 * when ours, else the agent and its libraries loaded from memory
 * (agent_memfd.h); out is then /proc/self/fd/N.  The same codes. */
int ma_agent_place_in_memory(pid_t pid, const char *agent, char *out, size_t len, char *err, size_t errlen);

#endif

/* agent_memfd.h — the agent loaded from memory, for a target whose root
 * has no place memattach can write (a read-only root, no writable mount). */
#ifndef MEMATTACH_AGENT_MEMFD_H
#define MEMATTACH_AGENT_MEMFD_H

#include <stddef.h>
#include <sys/types.h>
#include "cli/cmd/agent_deps.h"

/* 1 when pid can open its own descriptors by path: its root has a proc
 * file system at /proc that shows pid.  0 with why. */
int ma_agent_memfd_usable(pid_t pid, char *why, size_t len);

/* In one short stop of one thread of pid: a memfd of pid's for each of
 * the agent's libraries (deps, in deps->order) and for the agent, filled
 * by memattach; each library pid has not loaded yet dlopen'ed from
 * /proc/self/fd/N (so the agent's DT_NEEDED find them by soname), their
 * memfds closed.  The agent's memfd stays open (CLOEXEC): a later attach
 * dlopens the same path and gets the agent loaded.  out = that path.
 * 0, or an MA_INJ_ERR_* code with a message naming the cause (a seccomp
 * filter forbidding memfd_create among them). */
int ma_agent_memfd_load(pid_t pid, const char *agent, const struct ma_agent_deps *deps,
			char *out, size_t len, char *err, size_t errlen);

/* The path pid opens the memfd of inode ino by: /proc/self/fd/N.  0, or
 * -1 when pid holds no descriptor of it. */
int ma_agent_memfd_path(pid_t pid, unsigned long long ino, char *out, size_t len);
/* The same descriptor's number in pid, or -1. */
int ma_agent_memfd_number(pid_t pid, unsigned long long ino);

#endif

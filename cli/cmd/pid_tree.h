/* pid_tree.h — a process and its descendants now running (--pid-tree). */
#ifndef MEMATTACH_PID_TREE_H
#define MEMATTACH_PID_TREE_H

#include <stddef.h>
#include <sys/types.h>

/* root first, then its descendants, parents before children, into out
 * (at most max); memattach itself and zombies are left out.  The count,
 * or -1 (errno) when /proc cannot be read. */
int ma_pid_tree(pid_t root, pid_t *out, size_t max);

#endif

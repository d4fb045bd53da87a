/* session_dir.h — the private directory of one session (its socket, and
 * the agent copy for a target of another user), made so that nobody but
 * memattach's own user can rename, replace or add anything in it, and
 * handled only through descriptors held open (DESIGN.md "Security"). */
#ifndef MEMATTACH_SESSION_DIR_H
#define MEMATTACH_SESSION_DIR_H

#include <limits.h>
#include <sys/types.h>

#define MA_SESSION_SOCKET "agent.sock"
#define MA_SESSION_AGENT_COPY "libmemattach-agent.so"

struct ma_session_dir {
	int parent_fd;          /* $TMPDIR, checked when opened */
	int fd;                 /* the directory itself */
	char name[96];          /* memattach-<label>-XXXXXX, in parent_fd */
	char path[PATH_MAX];    /* for the agent (and messages) only: as the target sees it */
	int open_to_all;        /* the socket could not be given away: 0666 (ma_session_dir_bind) */
};

/* Removes directories left by memattach processes that are gone, then
 * creates a fresh one in $TMPDIR (0711, owned by this process's user).
 * 0, or -1 with a message. */
int ma_session_dir_create(struct ma_session_dir *d, char *err, size_t errlen);
/* The same for an agent copy given to target: memattach-t<pid>.<start>-
 * XXXXXX, kept while the target runs (it maps the copy, and a later
 * attach dlopens the same path), swept by a memattach after it is gone. */
int ma_session_dir_create_for(struct ma_session_dir *d, pid_t target, char *err, size_t errlen);
/* The same inside the root of target (a container, a chroot), reached
 * through /proc/PID/root and resolved within it: memattach-c<pid>.<start>-
 * XXXXXX in its /tmp, /var/tmp, /dev/shm, /run or / — the first that is
 * writable, not noexec, and not open to others (root's or uid's, or
 * sticky).  path is then the directory as the target sees it.  It is
 * locked (flock) while d holds it; unlocked ones left by a killed
 * memattach are removed first.  0; -2 when no such directory (the
 * message names each one and why); -1 otherwise. */
int ma_session_dir_create_in_root(struct ma_session_dir *d, pid_t target, uid_t uid, char *err, size_t errlen);
/* 1 when target, in its own mount namespace and root, reaches this very
 * directory by its path; 0 when not (a container). */
int ma_session_dir_visible_to(struct ma_session_dir *d, pid_t target);
/* Binds sock (AF_UNIX) to NAME in the directory, without resolving the
 * directory's path again; the socket is made 0600 and given to uid:gid.
 * 0, or -1 with a message. */
int ma_session_dir_bind(struct ma_session_dir *d, int sock, const char *name,
			uid_t uid, gid_t gid, char *err, size_t errlen);
/* Creates NAME (a new file, never an existing one or a link), open for
 * writing; mode as for open().  The descriptor, or -1 (errno). */
int ma_session_dir_create_file(struct ma_session_dir *d, const char *name, mode_t mode);
/* Removes NAME from the directory, if there. */
void ma_session_dir_unlink(struct ma_session_dir *d, const char *name);
/* Removes what memattach put in the directory, and the directory. */
void ma_session_dir_remove(struct ma_session_dir *d);
/* Lets go of the directory, leaving it as it is. */
void ma_session_dir_close(struct ma_session_dir *d);

#endif

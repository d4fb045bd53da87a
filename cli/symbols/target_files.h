/* target_files.h — files the agent's stream names (modules, their debug
 * files) are opened as the target's user would open them: with its
 * credentials, regular files only, never blocking.  The stream is
 * untrusted whatever sent it (DESIGN.md "Security"). */
#ifndef MEMATTACH_TARGET_FILES_H
#define MEMATTACH_TARGET_FILES_H

#include <elfutils/libdwfl.h>
#include <limits.h>
#include <sys/types.h>

/* Files are to be opened with pid's file-system uid, gid and groups,
 * read now.  Without this call (memattach run), with the CLI's own. */
void ma_target_files_as(pid_t pid);
/* At report time: the target's files are under dir (no trailing '/'),
 * resolved inside it as under /proc/PID/root; fd an O_PATH descriptor of
 * dir (taken over), or -1 to open dir now; exe the target's executable in
 * it (ma_target_exe), or NULL.  0, or -1 when dir cannot be opened. */
int ma_target_files_root(const char *dir, int fd, const char *exe);
/* 1 when the target's root is not the CLI's (a container, a chroot): a
 * file it names is never looked for under the same path here. */
int ma_target_other_root(void);
/* The target's executable as it names it in its root ("" when unknown):
 * for the main program's module, which an agent in a root without /proc
 * cannot name. */
const char *ma_target_exe(void);
/* Who ma_target_files_as last named, kept for later (several targets at
 * once, a target gone by the end): get copies it (the root held open by a
 * descriptor of its own), set makes it current again, drop closes it. */
struct ma_target_id {
	int have;
	uid_t uid;
	gid_t gid;
	gid_t groups[256];
	int ngroups;
	int root_fd;
	char root_path[PATH_MAX];
	int other_root;
	char exe[PATH_MAX];
};
void ma_target_files_get(struct ma_target_id *id);
void ma_target_files_set(const struct ma_target_id *id);
void ma_target_files_drop(struct ma_target_id *id);
/* The user files are opened as: the target's, or the CLI's own. */
unsigned ma_target_files_uid(void);
/* The calling thread takes those credentials for file access (per
 * thread); ma_target_files_leave gives its own back.  0, or -1 when they
 * could not be taken (the caller must then not open anything). */
int ma_target_files_enter(void);
void ma_target_files_leave(void);
/* Where the target's files are ("/proc/PID/root", or "" for run), for the
 * debug file search of the calling thread. */
void ma_target_files_prefix(const char *prefix);
/* Opens path for reading if it is a regular file of sane size: never
 * blocks (a FIFO or a device is refused).  The descriptor, or -1. */
int ma_target_file_open(const char *path);
/* A Dwfl_Callbacks find_debuginfo that finds separate debug files (by
 * build id, by .gnu_debuglink, dwz's alternate file) in the target's
 * root and the CLI's /usr/lib/debug, opened as ma_target_file_open does,
 * and checks their build id. */
int ma_target_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name);

#endif

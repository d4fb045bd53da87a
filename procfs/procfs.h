/* procfs.h — reading /proc/PID: stat, status, comm, maps, and files in the
 * process's mount namespace.
 * One parser for the injector and the CLI (neither includes the other's
 * headers; both link procfs/libmaprocfs.la).  Every function returns 0 on
 * success and -1 with errno set when the file cannot be read or parsed. */
#ifndef MEMATTACH_PROCFS_H
#define MEMATTACH_PROCFS_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a whole small /proc file into buf (NUL-terminated). */
int ma_proc_read_file(const char *path, char *buf, size_t size);

/* /proc/PID/stat.  comm may hold spaces and ") ": it is what lies between
 * the first '(' and the last ')'. */
struct ma_proc_stat {
	char comm[64];
	char state;              /* R, S, D, T, t, Z, X... */
	pid_t ppid;
	unsigned long flags;     /* PF_* (PF_KTHREAD...) */
};
int ma_proc_stat(pid_t pid, struct ma_proc_stat *st);
/* The same for one thread: /proc/PID/task/TID/stat. */
int ma_proc_task_stat(pid_t pid, pid_t tid, struct ma_proc_stat *st);

/* The numbers of a "Name:\tv1\tv2..." line of /proc/PID/status (n of
 * them, in base).  tid 0: the process's status, else the thread's. */
int ma_proc_status_field(pid_t pid, pid_t tid, const char *name,
			 unsigned long long *vals, int n, int base);

/* What the CLI and the injector want of /proc/PID/status. */
struct ma_proc_status {
	char name[64];           /* the comm, as "Name:" shows it (escaped) */
	pid_t tgid;              /* != pid: pid names a thread, not a process */
	uid_t uid[4];            /* real, effective, saved, filesystem */
	gid_t gid[4];
};
int ma_proc_status(pid_t pid, struct ma_proc_status *st);

/* 1 when the process is dumpable, 0 when not (PR_SET_DUMPABLE 0, setuid,
 * a credential change): the kernel then gives its /proc/PID files to root, and
 * ptrace by anyone without CAP_SYS_PTRACE fails.  -1 when gone. */
int ma_proc_dumpable(pid_t pid);

/* The process's name as the kernel keeps it (/proc/PID/comm, at most 15
 * bytes, unescaped: it may hold spaces, ") " or a newline). */
int ma_proc_comm(pid_t pid, char *buf, size_t len);

/* path as the process sees it, in its mount namespace (a container):
 * "/proc/PID/root" + path.  path "" gives the root itself. */
void ma_proc_root(pid_t pid, const char *path, char *buf, size_t len);

/* A path of /proc/PID/maps (named from the reader's root) as the process
 * names it in its own root: a chroot's own path taken off the front. */
void ma_proc_path_in_target(pid_t pid, const char *path, char *out, size_t len);
/* The file of the mapping start-end: the kernel's link to it
 * (/proc/PID/map_files, root only), else path (from its maps line, may be
 * NULL) in the process's root.  O_RDONLY|O_NONBLOCK; -1 with errno. */
int ma_proc_open_mapped(pid_t pid, unsigned long start, unsigned long end, const char *path);
/* The process's (tid 0) or thread's id in its own pid namespace (the last
 * NSpid number) and how many pid namespaces deep it is from ours (1: ours). */
int ma_proc_nspid(pid_t pid, pid_t tid, pid_t *inner, int *levels);

/* /proc/PID/maps, one line. */
struct ma_map {
	unsigned long start, end, offset, inode;
	unsigned dev_major, dev_minor;
	char perms[5];
	char path[PATH_MAX];    /* "" for anonymous; " (deleted)" stripped */
	int deleted;
};
/* Calls fn for every mapping; fn returns nonzero to stop (that value is
 * returned).  -1 when the file cannot be read. */
int ma_maps_foreach(pid_t pid, int (*fn)(const struct ma_map *m, void *ctx), void *ctx);

#endif

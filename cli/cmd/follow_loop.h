/* follow_loop.h — captures of several processes at once, one capture file
 * each, one duration, one Ctrl-C, and a summary line per process at the
 * end.  Processes are added by the command (run's CMD; every pid of
 * --pid a,b,c or --pid-tree, each injected with a session of its own) or
 * arrive by themselves: with --follow-fork a child connects on the socket
 * its parent used (a listener), and gets the capture CAP.<pid>. */
#ifndef MEMATTACH_FOLLOW_LOOP_H
#define MEMATTACH_FOLLOW_LOOP_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/analysis/analysis.h"
#include "cli/capture/session.h"
#include "cli/symbols/target_files.h"

struct ma_proc_cap {
	struct ma_session *s;        /* its stream and capture file */
	pid_t pid;
	char comm[64];
	char out[PATH_MAX];
	int connected, ever_connected;
	int named;                   /* named by the user (not a followed child) */
	int owned;                   /* s is ours to free */
	/* --pid: who it was when it came (its user, its root), for the files
	 * its stream names when its capture ends (it may be gone by then) */
	struct ma_target_id id;
	int id_known;
	int finished;                /* its capture's end is written */
	/* The process itself (named: pidfd_open when it came; a child: its
	 * connection's SO_PEERPIDFD): readable once it has exited.  Only for
	 * agents that send no ProcessIdentity (peer_identity.h).  -1: none. */
	int pidfd;
	/* run's CMD: who it is, read by us (our child, not reaped) before
	 * its agent connects, for that first connection may be taken only
	 * once CMD has exited (a loaded machine): its pidfd then says gone */
	struct ma_peer_identity born;
	const char *note;            /* why the capture is incomplete */
};

/* A connection whose ProcessIdentity has not come yet: which capture it
 * belongs to is decided once it has (or the stream ended). */
struct ma_pending_conn {
	int fd;
	pid_t pid;
	int pidfd;                   /* SO_PEERPIDFD, -1 */
	struct ma_session *l;        /* the listener it came on */
};

struct ma_follow {
	struct ma_proc_cap **p;
	size_t n, cap;
	int follow;                  /* children connect on their parent's socket */
	const char *base_out;        /* CAP: a child's capture is CAP.<pid> */
	uint64_t duration_ns;        /* 0: none */
	volatile sig_atomic_t *stop_signal;
	int quiet;
	/* run: CMD is our child.  Signals go to it, and the capture ends
	 * when it and every descendant (we are their subreaper) are gone. */
	pid_t run_pid;
	int run_status, run_exited;
	int rc;                      /* exit code so far */
	size_t ended;                /* children that exited, capture not finished */
	struct ma_pending_conn *pend;   /* in the order they were accepted */
	size_t npend, cap_pend;
};

/* Without --follow-fork: "N child processes of pid P were not tracked"
 * when the process forked (Tick.forks), unless quiet. */
void ma_say_untracked(pid_t pid, uint64_t forks, int quiet);
/* Adds a process whose session exists (connected or not yet). */
struct ma_proc_cap *ma_follow_add(struct ma_follow *f, struct ma_session *s, pid_t pid,
				  const char *out, int named);
/* Follows every stream until the duration, a signal, or (run) the end of
 * the process tree, or (attach) the end of every stream. */
void ma_follow_run(struct ma_follow *f);
/* Asks every agent still connected to stop and takes what they send. */
void ma_follow_stop_all(struct ma_follow *f);
/* Writes every capture's end (symbols, trailer), followed children first,
 * and prints a summary line per process.  Returns f->rc. */
int ma_follow_finish(struct ma_follow *f);

#endif

/* session.h — one capture: the private directory and listening socket,
 * the agent's connection, and the capture file the stream goes into. */
#ifndef MEMATTACH_SESSION_H
#define MEMATTACH_SESSION_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/capture/capture_file.h"
#include "cli/capture/peer_identity.h"
#include "cli/capture/session_dir.h"

struct ma_session {
	struct ma_session_dir sd;   /* the private directory, held open */
	char sock_path[108];        /* the socket's path, for the agent */
	int listen_fd;
	int conn_fd;
	pid_t peer_pid;
	ma_capture_writer *writer;
	/* what the writer's file will need symbols for (symbolize.h) */
	struct ma_symbol_plan *plan;
	char out_path[PATH_MAX];
	/* where the target's files are: "/proc/PID/root" when attached (its
	 * mount namespace), "" for run; set after ma_session_listen */
	char root_prefix[64];
	/* the directory is inside the target's root (a container): the agent
	 * goes there too, and everything goes once the agent is connected */
	int in_target_root;
	/* no place in the target's root at all: the socket is abstract, in
	 * its network namespace, and the agent is loaded from memory */
	int in_memory;
	/* in_memory: the user whose connections are taken besides root (an
	 * abstract socket has no permissions; a path's would allow only it) */
	uid_t peer_uid;
	/* the target's pid namespace is not ours: its ids, for TargetIds */
	struct ma_target_ids *ids;
	/* the target's root was looked at (target_root.h), at its Header */
	int root_noted;
	/* stream state */
	uint8_t *buf;
	size_t buf_len, buf_cap;
	uint64_t bytes_in;
	uint64_t events;
	uint64_t last_rss;
	uint64_t last_time_ns;
	uint64_t warnings;        /* Warning records seen (printed as they came) */
	uint64_t forks;           /* the target's fork() calls so far (Tick.forks) */
	int got_header;
	struct ma_peer_identity ident;   /* the stream's ProcessIdentity */
	int got_trailer;
	int trailer_reason;      /* AgentTrailer.reason (StopReason) */
	int eof;
	int write_failed;        /* the pump returned a write error (said once) */
	uint64_t last_flush_ns;
	/* When set, whole records go here (framing stripped) instead of to
	 * the capture file; nonzero return stops the pump with an error. */
	int (*on_record)(void *ctx, const uint8_t *rec, size_t len);
	void *on_record_ctx;
};

/* Creates the private directory (session_dir.h) and the listening socket
 * in it, the socket given to uid:gid so that the target's user can
 * connect.  0, or -1 with a message. */
int ma_session_listen(struct ma_session *s, uid_t uid, gid_t gid, char *err, size_t errlen);
/* The same with the directory inside the root of pid (a container, whose
 * file system the CLI's directory is not part of): the socket is reached
 * by path from both sides, whatever network namespace the target is in.
 * 0; -2 when the target's root has no usable directory; -1 otherwise
 * (message). */
int ma_session_listen_in_root(struct ma_session *s, pid_t pid, uid_t uid, gid_t gid, char *err, size_t errlen);
/* For a target whose root has no usable directory: an abstract socket
 * of a random name in pid's network namespace (session_abstract.c);
 * sock_path is "@name", in_memory set.  0, or -1 with a message. */
int ma_session_listen_abstract(struct ma_session *s, pid_t pid, char *err, size_t errlen);
/* The directory where pid can reach it: in $TMPDIR as ma_session_listen
 * does when pid sees that directory by its path, else inside pid's root
 * (in_target_root set).  The same returns. */
int ma_session_listen_for(struct ma_session *s, pid_t pid, uid_t uid, gid_t gid, char *err, size_t errlen);
/* Removes the directory, its socket and agent copy, once nothing more is
 * to connect (the agent is in): the listening socket stays usable, and a
 * killed memattach leaves nothing behind. */
void ma_session_remove_dir(struct ma_session *s);
/* Starts the capture file (beside its name, published when the agent
 * connects: see ma_capture_writer_publish).  0, or -1 with a message. */
int ma_session_open_output(struct ma_session *s, const char *path, char *err, size_t errlen);
/* Waits up to timeout_ms for the agent; checks SO_PEERCRED against
 * expect_pid (0: any).  1 connected, 0 timeout, -1 error (message). */
int ma_session_accept(struct ma_session *s, pid_t expect_pid, int timeout_ms, char *err, size_t errlen);
/* Moves whatever the agent sent into the capture file, waiting at most
 * timeout_ms.  Returns 1 while the stream goes on, 0 at its end, -1 on a
 * write error (message). */
int ma_session_pump(struct ma_session *s, int timeout_ms, char *err, size_t errlen);
/* Forgets the stream so far and empties the capture file, for a program
 * that replaced the traced one by exec (same pid, a new agent, connected
 * again).  0 or -1 (message). */
int ma_session_restart(struct ma_session *s, char *err, size_t errlen);
/* Asks the agent to stop (it flushes, sends its trailer, closes). */
int ma_session_send_stop(struct ma_session *s);
/* Writes the capture trailer and closes everything.  0 or -1 (message).
 * After the pump returned a write error, only closes: 0, the error is not
 * repeated. */
int ma_session_finish(struct ma_session *s, const char *note, char *err, size_t errlen);
/* No capture after all (the attach failed): the new file is removed and
 * whatever had the output's name is left as it was; then cleanup. */
void ma_session_abandon(struct ma_session *s);
/* Removes the socket and directory (also on error paths). */
void ma_session_cleanup(struct ma_session *s);

/* Path of the agent library: $MEMATTACH_AGENT, the build tree next to
 * this executable, or the installed pkglibdir.  NULL when none exists. */
const char *ma_find_agent(char *buf, size_t len);

/* Default capture name: memattach-<comm>-<pid>-<YYYYmmddTHHMMSS>.memcap */
void ma_default_output(char *buf, size_t len, const char *comm, pid_t pid);

uint64_t ma_monotonic_ns(void);

/* What the agent is told, shared by `run` and `--pid`. */
struct ma_agent_opts {
	unsigned depth;          /* --native-depth */
	int pyalloc;             /* --trace-python-allocators */
	int pynative;            /* --native */
	uint64_t stall_ns;       /* --stall-limit: longest wait of a target thread;
				    0: $MEMATTACH_STALL_LIMIT, else 100 ms */
	int stall_end;           /* --on-stall end: end the session past it */
	uint64_t sample;         /* --sample SIZE: mean bytes between samples (0: every event) */
};
#define MA_AGENT_OPTS_INIT { 64, 0, 0, 0, 0, 0 }
#define MA_STALL_LIMIT_DEFAULT_NS 100000000ull
/* getopt values of --stall-limit and --on-stall (no short option) */
#define MA_OPT_STALL_LIMIT 0x100
#define MA_OPT_ON_STALL 0x101
#define MA_OPT_SAMPLE 0x128
#define MA_SAMPLE_MAX (1ull << 30)   /* --sample at most 1 GiB */
#define MA_AGENT_LONG_OPTS \
	{"stall-limit", required_argument, NULL, MA_OPT_STALL_LIMIT}, \
	{"on-stall", required_argument, NULL, MA_OPT_ON_STALL}
#define MA_AGENT_OPTS_USAGE "[--stall-limit TIME] [--on-stall drop|end]"
/* The getopt cases 'd', 'P', 'N', --sample and the stall options.  1: handled, 0: not one of them,
 * -1: bad value (the one-line message is printed). */
int ma_agent_opt(int c, const char *arg, struct ma_agent_opts *o);
/* The configuration string of agent/agent.h for this session. */
void ma_agent_config(char *buf, size_t len, const char *sock_path,
		     const struct ma_agent_opts *o, int attached);

#endif

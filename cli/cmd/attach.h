/* attach.h — `memattach --pid`: one target's attach (attach.c), shared with
 * several at once (attach_many.c: --pid a,b,c, --pid-tree, --follow-fork). */
#ifndef MEMATTACH_ATTACH_H
#define MEMATTACH_ATTACH_H

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "cli/capture/session.h"
#include "cli/cmd/capture_loop.h"
#include "cli/cmd/threshold.h"
#include "procfs/procfs.h"

#define MA_ATTACH_MAX_PIDS 256

struct ma_cli_cmd;

struct attach {
	pid_t pid;
	uint64_t duration_ns;
	const char *out;
	int quiet;
	struct ma_agent_opts ao;
	struct ma_threshold_opts th;
	const char *thr_text;            /* --dump-on-threshold as given; NULL: none */
	const struct ma_cli_cmd *cmd;    /* ma_cli_attach, or ma_cli_live */
	uint64_t interval_ns;            /* live: --interval */
	uint64_t every_ns;               /* --every */
	unsigned keep, dump_count;       /* --keep, --dump-count (0: not given) */
	struct ma_proc_status target;
	char agent[PATH_MAX], agent_t[PATH_MAX], outbuf[PATH_MAX];
	struct ma_session s;
	uint64_t attach_ns;
	/* several targets (attach_many.c) */
	pid_t pids[MA_ATTACH_MAX_PIDS];  /* --pid a,b,c */
	size_t npids;
	int tree;                        /* --pid-tree: pid and its descendants */
	int follow;                      /* --follow-fork */
	const char *connect;             /* live --connect PATH (live_connect.c) */
};

extern volatile sig_atomic_t ma_attach_stop_signal;

/* attach.c, each -1 to go on, else the exit code (the message is out). */
int ma_attach_preflight(struct attach *a);
int ma_attach_open_outputs(struct attach *a);
int ma_attach_place_agent(struct attach *a);
int ma_attach_inject(struct attach *a, struct ma_capture *c);
void ma_attach_catch_signals(void);

/* attach_many.c: --pid a,b,c into a->pids (-1, or exit 2 with a message);
 * the options that do not go with several targets refused (-1 or 2); the
 * captures of several targets (returns the exit code). */
int ma_attach_parse_pids(struct attach *a, const char *arg);
int ma_attach_many_check(const struct attach *a);
int ma_attach_many(struct attach *tmpl);

/* live_connect.c: `live --connect PATH`, a Python Tracker's stream
 * (cli/cmd/rx_viewer.c) viewed as an agent's.  Returns the exit code. */
int ma_live_connect(struct attach *a, volatile sig_atomic_t *stop_signal);

#endif

/* receive.c — `memattach receive --pid PID` (hidden): the CLI's end of the
 * in-process sessions of one process, started by the Python package
 * (python/memattach) in a process that then loads the agent itself and
 * calls memattach_agent_start with the socket named here.  One agent, one
 * stream; every Tracker of the process is a capture cut from it
 * (rx_trackers.c).
 *
 * stdout is the conversation with that process, one line each:
 *   socket PATH          where the agent connects (then the agent's path)
 *   agent PATH           the agent library to load
 *   active ID            tracker ID records (or: error ID MESSAGE)
 *   viewer ID            a `memattach live --connect` came for tracker ID
 *   stats SYNC {json}    tracker's totals at the Tick carrying sync_id SYNC
 *   final ID {json}      tracker ID's capture is finished: its totals
 *   done                 (follow_fork) the stream ended, and the captures
 *                        of the children that had exited are finished
 * stdin has the commands, each written before the memattach_agent_sync
 * call whose Tick carries its SYNC (the first open: before the agent
 * starts, SYNC 0) and done at that Tick:
 *   open ID SYNC TID FOLLOW LIVE PATH   TID 0: every thread; FOLLOW 0|1;
 *                                       LIVE: a socket path or -
 *   stats ID SYNC
 *   close ID SYNC
 *   warm 0 SYNC     (after the first start) answered "warm SYNC" once the
 *                   symbol prewarm has opened libc and the modules the
 *                   stacks so far use: before the tracked code runs, as
 *                   `run` does it during the interpreter's start
 * The process ends when the agent's stream does (the last tracker stopped
 * it, or the process exited) and every followed child's has. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/util/exit_codes.h"
#include "cli/capture/session.h"
#include "cli/symbols/symbolize.h"
#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/cmd/rx_children.h"
#include "cli/cmd/rx_lazy.h"
#include "cli/cmd/rx_trackers.h"
#include "cli/cmd/rx_viewer.h"

#define MAX_POLL 256

struct receiver {
	struct ma_session s;
	struct rx_hub h;
	struct rx_children kids;
	struct rx_lazy lazy;  /* the raw tracker's records not yet analysed */
	FILE *cmd;
	int follow;          /* children connect on the socket: it stays */
	int cmd_eof;
};

/* "open ID SYNC TID FOLLOW LIVE PATH": the tracker, its file made. */
static void cmd_open(struct receiver *rv, char *args, uint64_t watermark, int first)
{
	unsigned id, follow;
	unsigned long long sync, tid;
	char live[128];
	int n = 0;
	char err[512];
	if (sscanf(args, "%u %llu %llu %u %127s %n", &id, &sync, &tid, &follow, live, &n) < 5 || !n ||
	    !args[n]) {
		fprintf(stderr, "memattach receive: a bad open command: %s\n", args);
		return;
	}
	char *path = args + n;
	struct rx_tracker *t = rx_tracker_new(&rv->h, id, (uint32_t)tid, path, err, sizeof(err));
	if (t && strcmp(live, "-") && rx_viewer_listen(t, live, err, sizeof(err)) < 0) {
		rx_tracker_drop(&rv->h, t);
		t = NULL;
	}
	if (!t) {
		fprintf(rv->h.talk, "error %u %s\n", id, err);
		fflush(rv->h.talk);
		return;
	}
	if (follow && !rv->kids.base[0])
		snprintf(rv->kids.base, sizeof(rv->kids.base), "%s", path);
	if (!first)   /* the first starts with the stream (its Header) */
		rx_tracker_start(&rv->h, t, watermark);
	fprintf(rv->h.talk, "active %u\n", id);
	fflush(rv->h.talk);
}

/* One command line: "VERB ID SYNC ...".  Returns its SYNC. */
static uint64_t run_command(struct receiver *rv, char *line, uint64_t watermark)
{
	char verb[16];
	unsigned id;
	unsigned long long sync;
	int n = 0;
	line[strcspn(line, "\n")] = 0;
	if (sscanf(line, "%15s %u %llu%n", verb, &id, &sync, &n) < 3) {
		fprintf(stderr, "memattach receive: a bad command: %s\n", line);
		return 0;
	}
	struct rx_tracker *t = rx_tracker_find(&rv->h, id);
	if (!strcmp(verb, "warm")) {
		/* as under `run`, where every stack of the interpreter's start
		 * ends in libc (__libc_start_call_main) */
		ma_symbolize_prewarm_named("libc.so.6");
		ma_symbolize_prewarm_wait();
		fprintf(rv->h.talk, "warm %llu\n", sync);
		fflush(rv->h.talk);
	} else if (!strcmp(verb, "open")) {
		cmd_open(rv, line + strlen(verb) + 1, watermark, sync == 0);
	} else if (!t) {
		fprintf(stderr, "memattach receive: no tracker %u\n", id);
	} else if (!strcmp(verb, "stats")) {
		fprintf(rv->h.talk, "stats %llu ", sync);
		rx_print_totals(rv->h.talk, t->live.a);
	} else if (!strcmp(verb, "close")) {
		rx_tracker_close(&rv->h, t, watermark, NULL);
	}
	return sync;
}

/* A Tick with sync_id: the command written before that sync is due. */
static void serve_sync(struct receiver *rv, uint64_t sync, uint64_t watermark)
{
	char line[4200 + PATH_MAX];
	while (!rv->cmd_eof) {
		if (!fgets(line, sizeof(line), rv->cmd)) {
			rv->cmd_eof = 1;
			break;
		}
		if (run_command(rv, line, watermark) == sync)
			break;
	}
}

static int process_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct receiver *rv = ctx;
	char err[256];
	Memattach__Record *r;
	int bad = rx_hub_push(&rv->h, rec, len, &r, err, sizeof(err));
	if (bad)
		fprintf(stderr, "memattach: %s\n", err);
	else if (r->r_case == MEMATTACH__RECORD__R_TICK && r->tick->sync_id)
		serve_sync(rv, r->tick->sync_id, r->tick->watermark);
	ma_live_record_free(r);
	return bad;
}

/* A raw tracker (the only one): the record to its file now, the rest of
 * the work when it is due (rx_lazy.h). */
static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct receiver *rv = ctx;
	const uint8_t *framed;
	size_t flen;
	if (!rv->h.raw)
		return process_record(rv, rec, len);
	if (rx_lazy_keep(&rv->lazy, rec, len, &framed, &flen) < 0) {
		/* out of memory: what waits is done first, which makes room */
		int bad = rx_lazy_drain(&rv->lazy, process_record, rv);
		if (bad || rx_lazy_keep(&rv->lazy, rec, len, &framed, &flen) < 0)
			return -1;
	}
	rx_hub_write_raw(&rv->h, framed, flen);
	if (!rx_lazy_due(&rv->lazy, rec, len))
		return 0;
	return rx_lazy_drain(&rv->lazy, process_record, rv);
}

static void accept_viewers(struct receiver *rv)
{
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++) {
		struct rx_tracker *t = rv->h.t[s];
		if (t)
			rx_viewer_check(t);
		if (t && rx_viewer_accept(t)) {
			fprintf(rv->h.talk, "viewer %u\n", t->id);
			fflush(rv->h.talk);
		}
	}
}

/* Waits for the agent of pid (and a first tracker's viewer); gives up
 * when pid is gone. */
static int wait_agent(struct receiver *rv, pid_t pid, char *err, size_t errlen)
{
	for (;;) {
		accept_viewers(rv);
		int a = ma_session_accept(&rv->s, pid, 100, err, errlen);
		if (a != 0)
			return a;
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			snprintf(err, errlen, "process %d ended before its agent connected", (int)pid);
			return -1;
		}
	}
}

/* Until the agent's stream and every child's have ended. */
static int pump_all(struct receiver *rv, const char **note)
{
	char err[512];
	int rc = MA_EXIT_OK, main_open = 1;
	while (main_open || rx_children_open(&rv->kids)) {
		struct pollfd pf[MAX_POLL];
		size_t n = 0;
		if (main_open)
			pf[n++] = (struct pollfd){ rv->s.conn_fd, POLLIN, 0 };
		if (rv->follow)
			pf[n++] = (struct pollfd){ rv->s.listen_fd, POLLIN, 0 };
		for (unsigned s = 0; s < RX_MAX_TRACKERS && n < MAX_POLL - 2; s++) {
			struct rx_tracker *t = rv->h.t[s];
			if (t && t->viewer_listen >= 0)
				pf[n++] = (struct pollfd){ t->viewer_listen, POLLIN, 0 };
			if (t && t->viewer_fd >= 0)
				pf[n++] = (struct pollfd){ t->viewer_fd, POLLIN, 0 };
		}
		size_t nk = rx_children_poll(&rv->kids, pf + n, MAX_POLL - n);
		if (poll(pf, n + nk, 1000) < 0 && errno != EINTR)
			break;
		accept_viewers(rv);
		if (rv->follow && pf[main_open].revents)
			rx_children_accept(&rv->kids, &rv->s);
		rx_children_pump(&rv->kids, pf + n, nk);
		if (!main_open || !pf[0].revents)
			continue;
		int p = ma_session_pump(&rv->s, 0, err, sizeof(err));
		if (p < 0) {
			fprintf(stderr, "memattach: %s; stopping the capture\n", err);
			*note = "capture stopped: output error";
			rc = MA_EXIT_OUTPUT;
		}
		if (p <= 0) {
			main_open = 0;
			rv->h.ending = 1;
			if (rx_lazy_drain(&rv->lazy, process_record, rv))
				fprintf(stderr, "memattach: the agent's stream could not be analysed to its end\n");
			rx_hub_end(&rv->h, *note);
			if (!rv->s.got_trailer && !*note)
				*note = "the agent's stream ended early";
			if (rv->follow) {
				rx_children_drain_gone(&rv->kids);
				fprintf(rv->h.talk, "done\n");
				fflush(rv->h.talk);
			}
		}
	}
	return rc;
}

/* The first command (the first tracker's open) comes before the agent:
 * the tracker, not started yet (it starts with the stream). */
static struct rx_tracker *first_open(struct receiver *rv)
{
	char line[4200 + PATH_MAX];
	if (!fgets(line, sizeof(line), rv->cmd))
		return NULL;
	run_command(rv, line, 0);
	for (unsigned s = 0; s < RX_MAX_TRACKERS; s++)
		if (rv->h.t[s])
			return rv->h.t[s];
	return NULL;
}

int ma_receive_main(int argc, char **argv)
{
	pid_t pid = 0;
	int c;
	char err[512], agent[4096];

	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_receive, argc, argv)) != -1) {
		if (c == MA_KEY_PID)
			pid = (pid_t)atoi(optarg);
		else
			return MA_EXIT_USAGE;   /* said by ma_cli_getopt */
	}
	if (pid <= 0) {
		fprintf(stderr, "memattach receive: --pid PID is required (it is started by the Python package)\n");
		return MA_EXIT_USAGE;
	}
	if (!ma_find_agent(agent, sizeof(agent))) {
		fprintf(stderr, "memattach: agent library not found (looked at $MEMATTACH_AGENT, the build tree and %s): reinstall memattach or set MEMATTACH_AGENT\n", PKGLIBDIR);
		return MA_EXIT_NO_AGENT;
	}
	/* Ctrl-C reaches the whole process group: the tracked program decides
	 * when to stop, and the capture must still be finished. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	static struct receiver rv;
	rv.cmd = stdin;
	if (rx_hub_init(&rv.h, stdout) < 0) {
		fprintf(stderr, "memattach: out of memory\n");
		return MA_EXIT_ERROR;
	}
	if (ma_session_listen(&rv.s, getuid(), getgid(), err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&rv.s);
		return MA_EXIT_ERROR;
	}
	printf("socket %s\nagent %s\n", rv.s.sock_path, agent);
	fflush(stdout);
	struct rx_tracker *first = first_open(&rv);
	if (!first) {
		ma_session_cleanup(&rv.s);
		return MA_EXIT_OUTPUT;   /* said in the error line */
	}
	rv.follow = rv.kids.base[0] != 0;
	if (wait_agent(&rv, pid, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		rx_tracker_drop(&rv.h, first);   /* whatever had the name stays */
		ma_session_cleanup(&rv.s);
		return MA_EXIT_AGENT_FAILED;
	}
	rx_tracker_start(&rv.h, first, 0);
	if (!rv.follow)   /* else children connect to it by its path */
		ma_session_remove_dir(&rv.s);
	rv.s.on_record = on_record;
	rv.s.on_record_ctx = &rv;
	const char *note = NULL;
	int rc = pump_all(&rv, &note);
	rx_children_free(&rv.kids);
	rx_lazy_free(&rv.lazy);
	rx_hub_free(&rv.h);
	ma_session_cleanup(&rv.s);
	return rc;
}

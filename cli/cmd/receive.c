/* receive.c — `memattach receive -o FILE --pid PID` (hidden): the CLI's end
 * of an in-process session, started by the Python package (python/memattach)
 * in a process that then loads the agent itself and calls
 * memattach_agent_start with the socket named here.
 *
 * stdout is the conversation with that process, one line each:
 *   socket PATH          where the agent connects (then the agent's path)
 *   agent PATH           the agent library to load
 *   stats ID {json}      the totals at each Tick carrying sync_id ID
 *   final {json}         the totals at the end of the stream
 * The capture is written and symbolized exactly as `run` does. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/util/exit_codes.h"
#include "cli/util/json_writer.h"
#include "cli/capture/session.h"
#include "cli/analysis/live_heap.h"
#include "cli/report/report.h"
#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"

struct receiver {
	struct ma_live live;
	FILE *talk;
};

/* The counting rules are the analysis' own: the same numbers as
 * `report stats --json` gives for the capture cut at this point. */
static void print_totals(FILE *f, const ma_analysis *a)
{
	ma_json j;
	ma_json_init(&j, f, 0);
	ma_json_object(&j, NULL);
	ma_json_u64(&j, "total_allocations", a->total_allocations);
	ma_json_u64(&j, "total_frees", a->total_frees);
	ma_json_u64(&j, "total_bytes_allocated", a->total_bytes_allocated);
	ma_json_u64(&j, "untracked_frees", a->untracked_frees);
	ma_json_u64(&j, "peak_bytes", a->peak_bytes);
	ma_json_u64(&j, "live_bytes", a->live_bytes);
	ma_json_u64(&j, "live_allocations", a->live_blocks);
	ma_report_sampled_json(a, &j);   /* --sample: which are estimates, the exact counts */
	ma_json_end(&j);
	fputc('\n', f);
	fflush(f);
}

static int on_record(void *ctx, const uint8_t *rec, size_t len)
{
	struct receiver *rv = ctx;
	Memattach__Record *r = ma_live_push(&rv->live, rec, len);
	if (r && r->r_case == MEMATTACH__RECORD__R_TICK && r->tick && r->tick->sync_id) {
		/* the replayer has applied every event below this watermark */
		fprintf(rv->talk, "stats %llu ", (unsigned long long)r->tick->sync_id);
		print_totals(rv->talk, rv->live.a);
	}
	ma_live_record_free(r);
	return rv->live.failed;
}

/* Waits for the agent of pid; gives up when pid is gone. */
static int wait_agent(struct ma_session *s, pid_t pid, char *err, size_t errlen)
{
	for (;;) {
		int a = ma_session_accept(s, pid, 100, err, errlen);
		if (a != 0)
			return a;
		if (kill(pid, 0) < 0 && errno == ESRCH) {
			snprintf(err, errlen, "process %d ended before its agent connected", (int)pid);
			return -1;
		}
	}
}

static int pump_to_end(struct ma_session *s, const char **note)
{
	char err[512];
	for (;;) {
		int p = ma_session_pump(s, 1000, err, sizeof(err));
		if (p == 0)
			break;
		if (p < 0) {
			fprintf(stderr, "memattach: %s; stopping the capture\n", err);
			*note = "capture stopped: output error";
			return MA_EXIT_OUTPUT;
		}
	}
	if (!s->got_trailer)
		*note = "the agent's stream ended early";
	return MA_EXIT_OK;
}

int ma_receive_main(int argc, char **argv)
{
	const char *out = NULL;
	pid_t pid = 0;
	int c;
	char err[512], agent[4096];

	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_receive, argc, argv)) != -1) {
		if (c == MA_KEY_OUTPUT)
			out = optarg;
		else if (c == MA_KEY_PID)
			pid = (pid_t)atoi(optarg);
		else
			return MA_EXIT_USAGE;   /* said by ma_cli_getopt */
	}
	if (!out || pid <= 0) {
		fprintf(stderr, "memattach receive: -o FILE and --pid PID are required (it is started by the Python package)\n");
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

	struct ma_session s;
	struct receiver rv = {.talk = stdout};
	if (ma_session_listen(&s, getuid(), getgid(), err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&s);
		return MA_EXIT_ERROR;
	}
	if (ma_session_open_output(&s, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&s);
		return MA_EXIT_OUTPUT;
	}
	if (ma_live_init(&rv.live) < 0) {
		fprintf(stderr, "memattach: out of memory\n");
		ma_session_finish(&s, "out of memory", err, sizeof(err));
		return MA_EXIT_ERROR;
	}
	printf("socket %s\nagent %s\n", s.sock_path, agent);
	fflush(stdout);
	if (wait_agent(&s, pid, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_live_free(&rv.live);
		ma_session_abandon(&s);   /* whatever had the name stays */
		return MA_EXIT_AGENT_FAILED;
	}
	ma_session_remove_dir(&s);
	s.on_record = on_record;
	s.on_record_ctx = &rv;
	const char *note = NULL;
	int rc = pump_to_end(&s, &note);
	ma_replayer_finish(rv.live.rp);
	printf("final ");
	print_totals(stdout, rv.live.a);
	ma_live_free(&rv.live);
	if (ma_session_finish(&s, note, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		rc = MA_EXIT_OUTPUT;
	}
	return rc;
}

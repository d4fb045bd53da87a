/* attach.c — `memattach --pid PID`: inject the agent into a running
 * process, capture for a while, tell the agent to stop, and leave the
 * process as it was. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cli/cmd/commands.h"
#include "cli/util/exit_codes.h"
#include "injector/injector.h"
#include "cli/cmd/inject_exit.h"
#include "cli/util/parse_units.h"
#include "cli/capture/session.h"
#include "cli/cmd/agent_place.h"
#include "cli/symbols/target_files.h"
#include "cli/util/outfile.h"
#include "cli/cmd/threshold.h"
#include "cli/analysis/live_heap.h"
#include "cli/report/report.h"

#define AGENT_CONNECT_TIMEOUT_MS 5000
#define AGENT_STOP_TIMEOUT_NS (10ull * 1000000000ull)

static volatile sig_atomic_t stop_signal;
static void on_stop(int sig) { stop_signal = sig; }

static void usage_attach(FILE *f)
{
	fprintf(f, "usage: memattach --pid PID [--duration TIME] [-o FILE] [--native-depth N] [--quiet]\n"
		   "       memattach --pid PID --dump-on-threshold SIZE [--threshold-on rss|heap]\n"
		   "                 [--duration TIME] [-o FILE] [--native-depth N] [--quiet]\n"
		   "       (both: [--trace-python-allocators] [--native] " MA_AGENT_OPTS_USAGE ")\n");
}

struct target_info {
	uid_t uid;
	gid_t gid;
	char comm[64];
};

static int read_target(pid_t pid, struct target_info *t)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	memset(t, 0, sizeof(*t));
	while (fgets(line, sizeof(line), f)) {
		unsigned a;
		if (sscanf(line, "Uid:\t%*u\t%u", &a) == 1)
			t->uid = a;
		else if (sscanf(line, "Gid:\t%*u\t%u", &a) == 1)
			t->gid = a;
		else if (!strncmp(line, "Name:\t", 6)) {
			snprintf(t->comm, sizeof(t->comm), "%.63s", line + 6);
			t->comm[strcspn(t->comm, "\n")] = 0;
		}
	}
	fclose(f);
	return 0;
}

static char process_state(pid_t pid)
{
	char p[64], st = 0;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(p, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%*d (%*[^)]) %c", &st) != 1)
		st = 0;
	fclose(f);
	return st;
}

static int process_alive(pid_t pid)
{
	char st = process_state(pid);
	return st && st != 'Z' && st != 'X';
}

int ma_attach_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"duration", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"native-depth", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"trace-python-allocators", no_argument, NULL, 'P'},
		{"native", no_argument, NULL, 'N'},
		MA_AGENT_LONG_OPTS,
		{"help", no_argument, NULL, 'h'},
		{"dump-on-threshold", required_argument, NULL, 'T'},
		{"threshold-on", required_argument, NULL, 'O'},
		{NULL, 0, NULL, 0},
	};
	char err[1024], agent[PATH_MAX], agent_t[PATH_MAX], outbuf[PATH_MAX];
	struct ma_threshold_opts th = {0};
	const char *thr_text = NULL;
	const char *out = NULL;
	uint64_t duration_ns = 0, v;
	struct ma_agent_opts ao = MA_AGENT_OPTS_INIT;
	pid_t pid = 0;
	int quiet = 0, c, k;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:t:o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (ma_parse_uint_range(optarg, 1, INT_MAX, "--pid", &v, err, sizeof(err)) < 0) {
				fprintf(stderr, "memattach: %s\n", err);
				return MA_EXIT_USAGE;
			}
			pid = (pid_t)v;
			break;
		case 't':
			if (ma_parse_duration(optarg, &duration_ns, err, sizeof(err)) < 0) {
				fprintf(stderr, "memattach: --duration: %s\n", err);
				return MA_EXIT_USAGE;
			}
			break;
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'T':
			thr_text = optarg;
			if (ma_parse_size(optarg, &th.bytes, err, sizeof(err)) < 0) {
				fprintf(stderr, "memattach: --dump-on-threshold: %s\n", err);
				return MA_EXIT_USAGE;
			}
			if (th.bytes == 0) {
				fprintf(stderr, "memattach: --dump-on-threshold: the size must be above zero (e.g. 500MB)\n");
				return MA_EXIT_USAGE;
			}
			break;
		case 'O':
			if (!strcmp(optarg, "heap"))
				th.on_heap = 1;
			else if (strcmp(optarg, "rss")) {
				fprintf(stderr, "memattach: --threshold-on: '%s' is neither rss nor heap\n", optarg);
				return MA_EXIT_USAGE;
			}
			break;
		case 'h': usage_attach(stdout); return MA_EXIT_OK;
		default:
			if ((k = ma_agent_opt(c, optarg, &ao)) < 0)
				return MA_EXIT_USAGE;
			if (k == 0) {
				usage_attach(stderr);
				return MA_EXIT_USAGE;
			}
		}
	}
	if (!pid || optind < argc) {
		if (optind < argc)
			fprintf(stderr, "memattach: unexpected argument '%s' (see memattach --help)\n", argv[optind]);
		else
			usage_attach(stderr);
		return MA_EXIT_USAGE;
	}

	struct ma_inj_error ie;
	if (ma_inj_check_target(pid, &ie) != 0) {
		fprintf(stderr, "memattach: %s\n", ie.msg);
		return ma_inject_exit_code(&ie);
	}
	if (!ma_find_agent(agent, sizeof(agent))) {
		fprintf(stderr, "memattach: agent library not found (looked at $MEMATTACH_AGENT, the build tree and %s): reinstall memattach or set MEMATTACH_AGENT\n", PKGLIBDIR);
		return MA_EXIT_NO_AGENT;
	}
	/* A stopped process runs nothing, the agent's thread included: the
	 * capture would stay empty.  Leave it as it is and say so. */
	if (process_state(pid) == 'T') {
		fprintf(stderr, "memattach: process %d is stopped (SIGSTOP or Ctrl-Z): continue it first (kill -CONT %d), then attach\n",
			(int)pid, (int)pid);
		return MA_EXIT_STOPPED;
	}
	struct target_info ti;
	if (read_target(pid, &ti) < 0) {
		fprintf(stderr, "memattach: no process with pid %d\n", (int)pid);
		return MA_EXIT_NO_PROCESS;
	}
	if (!out) {
		ma_default_output(outbuf, sizeof(outbuf), ti.comm, pid);
		out = outbuf;
	}

	struct ma_session s;
	if (ma_session_listen(&s, ti.uid, ti.gid, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&s);
		return MA_EXIT_ERROR;
	}
	snprintf(s.root_prefix, sizeof(s.root_prefix), "/proc/%d/root", (int)pid);
	ma_target_files_as(pid);   /* what the stream names is opened as the target's user */
	/* The output must be writable before we touch the target.  A
	 * threshold snapshot is written later: check its directory now. */
	if (thr_text) {
		if (ma_outfile_check(out, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: cannot write %s: %s (choose another -o)\n", out, err);
			ma_session_cleanup(&s);
			return MA_EXIT_OUTPUT;
		}
	} else if (ma_session_open_output(&s, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&s);
		return MA_EXIT_OUTPUT;
	}
	int placed = ma_agent_place(pid, agent, ti.uid, agent_t, sizeof(agent_t), err, sizeof(err));
	if (placed != MA_AGENT_PLACE_OK) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_abandon(&s);
		return placed == MA_AGENT_PLACE_FOREIGN ? MA_EXIT_AGENT_FAILED : MA_EXIT_ERROR;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char cfg[512];
	ma_agent_config(cfg, sizeof(cfg), s.sock_path, &ao, 1);
	long result = 0;
	uint64_t t0 = ma_monotonic_ns();
	if (ma_inject_library(pid, agent_t, "memattach_agent_start", cfg, &result, &ie) != 0) {
		fprintf(stderr, "memattach: %s\n", ie.msg);
		ma_session_abandon(&s);
		return ma_inject_exit_code(&ie);
	}
	if (result != 0) {
		int busy = result == -EALREADY;
		fprintf(stderr, busy ? "memattach: pid %d is already being tracked by another memattach; wait for it to finish\n"
				     : "memattach: the agent could not start in pid %d: %s\n",
			(int)pid, strerror((int)-result));
		ma_session_abandon(&s);
		return busy ? MA_EXIT_BUSY : MA_EXIT_AGENT_FAILED;
	}
	int a = 0;
	for (int waited = 0; a == 0 && waited < AGENT_CONNECT_TIMEOUT_MS; waited += 100)
		a = ma_session_accept(&s, pid, 100, err, sizeof(err));
	if (a <= 0) {
		fprintf(stderr, "memattach: the agent in pid %d did not connect\n", (int)pid);
		ma_session_abandon(&s);
		return MA_EXIT_AGENT_FAILED;
	}
	ma_session_remove_dir(&s);   /* nothing more connects: leave nothing behind */
	uint64_t attach_ns = ma_monotonic_ns() - t0;
	if (thr_text) {
		th.duration_ns = duration_ns;
		th.out = out;
		th.quiet = quiet;
		th.pid = pid;
		th.size_text = thr_text;
		if (!quiet)
			fprintf(stderr, "memattach: watching pid %d (%s) until its %s reaches %s%s (attached in %.1f ms)\n",
				(int)pid, ti.comm, th.on_heap ? "tracked heap" : "RSS", thr_text,
				duration_ns ? " or the duration ends" : "", (double)attach_ns / 1e6);
		int trc = ma_threshold_run(&s, &th, (volatile int *)&stop_signal);
		ma_session_cleanup(&s);
		if (trc == MA_EXIT_OK) {
			/* Who holds the memory, right away, and the page beside. */
			char html[PATH_MAX + 8];
			size_t ol = strlen(out);
			if (ol > 7 && !strcmp(out + ol - 7, ".memcap"))
				snprintf(html, sizeof(html), "%.*s.html", (int)(ol - 7), out);
			else
				snprintf(html, sizeof(html), "%s.html", out);
			char *sargv[] = {"report", "summary", (char *)out, NULL};
			char *fargv[] = {"report", "flamegraph", (char *)out, "-o", html, NULL};
			fflush(stderr);
			ma_report_main(3, sargv);
			fflush(stdout);
			int frc = ma_report_main(5, fargv);
			if (!quiet) {
				fprintf(stderr, "memattach: snapshot: %s\n", out);
				if (frc == 0)
					fprintf(stderr, "memattach: flame graph: %s\n", html);
			}
		}
		return trc;
	}
	if (!quiet) {
		char d[32] = "until Ctrl-C";
		if (duration_ns)
			snprintf(d, sizeof(d), "for %.6gs", (double)duration_ns / 1e9);
		fprintf(stderr, "memattach: tracking pid %d (%s) %s, writing %s (attached in %.1f ms)\n",
			(int)pid, ti.comm, d, out, (double)attach_ns / 1e6);
	}

	int tty = !quiet && isatty(2), rc = MA_EXIT_OK, stopping = 0;
	/* The tracked heap for the status line: the analysis follows the
	 * stream, only when someone is watching the terminal. */
	struct ma_live live;
	int have_live = tty && ma_live_init(&live) == 0;
	if (have_live) {
		s.on_record = ma_live_on_record;
		s.on_record_ctx = &live;
	}
	const char *note = NULL;
	uint64_t start = ma_monotonic_ns(), stop_at = 0, last_status = 0;
	for (;;) {
		uint64_t now = ma_monotonic_ns();
		if (!stopping && (stop_signal || (duration_ns && now - start >= duration_ns))) {
			stopping = 1;
			stop_at = now;
			ma_session_send_stop(&s);
		}
		if (stopping && now - stop_at > AGENT_STOP_TIMEOUT_NS) {
			note = "the agent did not finish in time";
			break;   /* closing the socket makes the agent unhook */
		}
		int p = ma_session_pump(&s, 50, err, sizeof(err));
		if (p < 0) {
			fprintf(stderr, "%smemattach: %s; stopping the agent\n", tty ? "\n" : "", err);
			ma_session_send_stop(&s);
			note = "capture stopped: output error";
			rc = MA_EXIT_OUTPUT;
			break;
		}
		if (p == 0)
			break;
		if (tty && now - last_status > 250000000ull) {
			char rss[32], heap[32] = "?";
			double el = (double)(now - start) / 1e9;
			last_status = now;
			ma_fmt_bytes(s.last_rss, rss, sizeof(rss));
			if (have_live && !live.failed)
				ma_fmt_bytes(live.a->live_bytes, heap, sizeof(heap));
			if (duration_ns)
				fprintf(stderr, "\r\033[K%.1fs / %.0fs  %llu events  tracked heap %s  RSS %s", el,
					(double)duration_ns / 1e9, (unsigned long long)s.events, heap, rss);
			else
				fprintf(stderr, "\r\033[K%.1fs  %llu events  tracked heap %s  RSS %s  (Ctrl-C to stop)", el,
					(unsigned long long)s.events, heap, rss);
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");
	s.on_record = NULL;
	if (have_live)
		ma_live_free(&live);
	if (!s.got_trailer && !note) {
		/* A killed process closes its files before it becomes a zombie:
		 * give it a moment to finish dying before deciding. */
		for (int i = 0; i < 50 && process_alive(pid); i++)
			usleep(10000);
		if (!process_alive(pid)) {
			note = "the target exited during the capture";
			if (!quiet)
				fprintf(stderr, "memattach: pid %d exited during the capture; the capture holds what was recorded until then\n", (int)pid);
			rc = MA_EXIT_TARGET_GONE;
		} else {
			note = "the agent's stream ended early";
			fprintf(stderr, "memattach: the agent in pid %d stopped sending before the end of the capture\n", (int)pid);
			rc = MA_EXIT_AGENT_FAILED;
		}
	}
	uint64_t events = s.events;
	if (ma_session_finish(&s, note, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		rc = MA_EXIT_OUTPUT;
	}
	if (!quiet)
		fprintf(stderr, "memattach: %llu events captured%s, written to %s\n",
			(unsigned long long)events, note ? " (incomplete)" : "", out);
	return rc;
}

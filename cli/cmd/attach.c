/* attach.c — `memattach --pid PID`: inject the agent into a running
 * process, capture for a while, tell the agent to stop, and leave the
 * process as it was.  The capture itself is the shared loop
 * (capture_loop.c); --dump-on-threshold is threshold.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/cmd/agent_place.h"
#include "cli/cmd/agent_memfd.h"
#include "cli/cmd/attach.h"
#include "cli/cmd/capture_loop.h"
#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/cmd/follow_loop.h"
#include "cli/cmd/inject_exit.h"
#include "cli/cmd/live.h"
#include "cli/cmd/monitor.h"
#include "cli/cmd/threshold.h"
#include "cli/symbols/target_files.h"
#include "cli/util/exit_codes.h"
#include "cli/util/outfile.h"
#include "cli/util/parse_units.h"
#include "injector/injector.h"
#include "procfs/procfs.h"

#define AGENT_CONNECT_TIMEOUT_MS 5000

volatile sig_atomic_t ma_attach_stop_signal;
#define stop_signal ma_attach_stop_signal
static void on_stop(int sig) { stop_signal = sig; }


static int usage_error(const char *what, const char *err)
{
	fprintf(stderr, "memattach: %s%s%s\n", what, *what ? ": " : "", err);
	return MA_EXIT_USAGE;
}

static int parse_threshold(struct attach *a, int key, const char *arg)
{
	char err[512];
	if (key == MA_KEY_THRESHOLD_ON) {
		if (!strcmp(arg, "heap"))
			a->th.on_heap = 1;
		else if (strcmp(arg, "rss")) {
			fprintf(stderr, "memattach: --threshold-on: '%s' is neither rss nor heap\n", arg);
			return MA_EXIT_USAGE;
		}
		return -1;
	}
	a->thr_text = arg;
	if (ma_parse_size(arg, &a->th.bytes, err, sizeof(err)) < 0)
		return usage_error("--dump-on-threshold", err);
	if (a->th.bytes == 0)
		return usage_error("--dump-on-threshold", "the size must be above zero (e.g. 500MB)");
	return -1;
}

static int parse_duration(struct attach *a, const char *arg)
{
	char err[512];
	if (ma_parse_duration(arg, &a->duration_ns, err, sizeof(err)) < 0)
		return usage_error("--duration", err);
	/* 0 would mean "no limit" inside: say so rather than run forever */
	if (a->duration_ns == 0) {
		fprintf(stderr, "memattach: --duration %s: the duration must be at least 1ns (e.g. 30s); "
			"leave --duration out to capture until Ctrl-C\n", arg);
		return MA_EXIT_USAGE;
	}
	return -1;
}

/* --interval, --every, --keep, --dump-count. */
static int parse_monitoring(struct attach *a, int key, const char *arg)
{
	char err[512];
	uint64_t v;
	const char *name = key == MA_KEY_INTERVAL ? "--interval" : key == MA_KEY_EVERY ? "--every"
			 : key == MA_KEY_KEEP ? "--keep" : "--dump-count";
	if (key == MA_KEY_INTERVAL || key == MA_KEY_EVERY) {
		if (ma_parse_duration(arg, &v, err, sizeof(err)) < 0)
			return usage_error(name, err);
		if (v < 10000000ull) {
			fprintf(stderr, "memattach: %s %s: the interval must be at least 10ms (e.g. 1s, 60s)\n", name, arg);
			return MA_EXIT_USAGE;
		}
		*(key == MA_KEY_INTERVAL ? &a->interval_ns : &a->every_ns) = v;
		return -1;
	}
	if (ma_parse_uint_range(arg, 1, 1000000, name, &v, err, sizeof(err)) < 0)
		return usage_error("", err);
	*(key == MA_KEY_KEEP ? &a->keep : &a->dump_count) = (unsigned)v;
	return -1;
}

/* One option; -1 to go on, else the exit code. */
static int apply_option(struct attach *a, int c, const char *arg)
{
	char err[512];
	uint64_t v;
	int k;
	switch (c) {
	case MA_KEY_PID:
		if (strchr(arg, ','))
			return ma_attach_parse_pids(a, arg);
		if (ma_parse_uint_range(arg, 1, INT_MAX, "--pid", &v, err, sizeof(err)) < 0)
			return usage_error("", err);
		a->pid = (pid_t)v;
		return -1;
	case MA_KEY_PID_TREE:
		if (ma_parse_uint_range(arg, 1, INT_MAX, "--pid-tree", &v, err, sizeof(err)) < 0)
			return usage_error("", err);
		a->pid = (pid_t)v;
		a->tree = 1;
		return -1;
	case MA_KEY_FOLLOW_FORK: a->follow = 1; return -1;
	case MA_KEY_CONNECT: a->connect = arg; return -1;
	case MA_KEY_DURATION: return parse_duration(a, arg);
	case MA_KEY_OUTPUT: a->out = arg; return -1;
	case MA_KEY_QUIET: a->quiet = 1; return -1;
	case MA_KEY_THRESHOLD:
	case MA_KEY_THRESHOLD_ON: return parse_threshold(a, c, arg);
	case MA_KEY_INTERVAL:
	case MA_KEY_EVERY:
	case MA_KEY_KEEP:
	case MA_KEY_DUMP_COUNT: return parse_monitoring(a, c, arg);
	case MA_KEY_HELP:
		if (a->cmd == &ma_cli_live)
			ma_cli_help(stdout, a->cmd);
		else
			ma_cli_help_all(stdout);
		return MA_EXIT_OK;
	case MA_KEY_VERSION: printf("memattach %s\n", PACKAGE_VERSION); return MA_EXIT_OK;
	default:
		if ((k = ma_agent_opt(c, arg, &a->ao)) < 0)
			return MA_EXIT_USAGE;
		return k ? -1 : MA_EXIT_USAGE;   /* '?': getopt said what */
	}
}

/* Options that need another, and live's terminal. */
static int check_combination(struct attach *a)
{
	if (a->keep && !a->every_ns)
		return usage_error("--keep", "keeps periodic snapshots: give --every TIME too");
	if (a->dump_count && !a->thr_text)
		return usage_error("--dump-count", "counts threshold dumps: give --dump-on-threshold SIZE too");
	if ((a->cmd == &ma_cli_live || a->every_ns || a->dump_count) && (a->npids || a->tree || a->follow))
		return usage_error(a->cmd == &ma_cli_live ? "live" : a->every_ns ? "--every" : "--dump-count",
				   "watches one process; give one --pid, without --pid-tree or --follow-fork");
	if (a->cmd == &ma_cli_live && !isatty(1)) {
		fprintf(stderr, "memattach: live needs a terminal on its standard output; run it in a terminal, or capture with memattach --pid PID -o FILE\n");
		return MA_EXIT_NOT_A_TERMINAL;
	}
	return -1;
}

/* Monitoring: --every, or several threshold dumps. */
static int monitoring(const struct attach *a)
{
	return a->every_ns || a->dump_count > 1;
}

static int parse_options(int argc, char **argv, struct attach *a)
{
	int c, rc;
	optind = 1;
	while ((c = ma_cli_getopt(a->cmd, argc, argv)) != -1)
		if ((rc = apply_option(a, c, optarg)) >= 0)
			return rc;
	if (optind < argc) {
		fprintf(stderr, "memattach: unexpected argument '%s' (see memattach --help)\n", argv[optind]);
		return MA_EXIT_USAGE;
	}
	if (a->connect && a->pid)
		return usage_error("--connect", "views a Python Tracker's socket: give it without --pid");
	if (!a->pid && !a->npids && !a->connect) {
		ma_cli_usage(stderr, a->cmd);
		return MA_EXIT_USAGE;
	}
	if ((rc = ma_attach_many_check(a)) >= 0)
		return rc;
	return check_combination(a);
}

/* Everything that can refuse the target before anything is touched. */
int ma_attach_preflight(struct attach *a)
{
	struct ma_inj_error ie;
	struct ma_proc_stat st;
	if (ma_inj_check_target(a->pid, &ie) != 0) {
		fprintf(stderr, "memattach: %s\n", ie.msg);
		return ma_inject_exit_code(&ie);
	}
	if (!ma_find_agent(a->agent, sizeof(a->agent))) {
		fprintf(stderr, "memattach: agent library not found (looked at $MEMATTACH_AGENT, the build tree and %s): reinstall memattach or set MEMATTACH_AGENT\n", PKGLIBDIR);
		return MA_EXIT_NO_AGENT;
	}
	/* A stopped process runs nothing, the agent's thread included: the
	 * capture would stay empty.  Leave it as it is and say so. */
	if (ma_proc_stat(a->pid, &st) == 0 && st.state == 'T') {
		fprintf(stderr, "memattach: process %d is stopped (SIGSTOP or Ctrl-Z): continue it first (kill -CONT %d), then attach\n",
			(int)a->pid, (int)a->pid);
		return MA_EXIT_STOPPED;
	}
	if (ma_proc_status(a->pid, &a->target) < 0 ||
	    ma_proc_comm(a->pid, a->target.name, sizeof(a->target.name)) < 0) {
		fprintf(stderr, "memattach: no process with pid %d\n", (int)a->pid);
		return MA_EXIT_NO_PROCESS;
	}
	return -1;
}

/* Before the attach ends in a capture: the session goes, and the output,
 * never published, leaves nothing (cli/util/outfile.h).  Written once for
 * every early end. */
static int abandon(struct attach *a, int rc)
{
	ma_session_abandon(&a->s);
	return rc;
}

/* Monitoring: -o names the directory of the snapshots (default "."). */
static int open_dir(struct attach *a)
{
	struct stat st;
	if (!a->out)
		a->out = ".";
	if (stat(a->out, &st) < 0 || !S_ISDIR(st.st_mode) || access(a->out, W_OK | X_OK) < 0) {
		fprintf(stderr, "memattach: -o %s: %s; with --every or --dump-count, -o names an existing directory you can write to\n",
			a->out, errno ? strerror(errno) : "not a directory");
		return MA_EXIT_OUTPUT;
	}
	return -1;
}

/* A root with no directory for us (read-only, no writable mount): an
 * abstract socket in its network namespace and the agent from memory,
 * when its /proc lets it open a descriptor by path.  0; -2 (err says
 * every place tried and why, and why not from memory); -1. */
static int listen_in_memory(struct attach *a, char *err, size_t errlen)
{
	char why[128];
	size_t n = strlen(err);
	if (!ma_agent_memfd_usable(a->pid, why, sizeof(why))) {
		snprintf(err + n, errlen - n, "; nor can it load the agent from memory: %s (mount proc there)", why);
		return -2;
	}
	return ma_session_listen_abstract(&a->s, a->pid, err, errlen);
}

/* The session directory and socket, and the output, writable before we
 * touch the target. */
int ma_attach_open_outputs(struct attach *a)
{
	char err[1024];
	if (monitoring(a) && open_dir(a) >= 0)
		return MA_EXIT_OUTPUT;
	if (!a->out && !monitoring(a) && a->cmd != &ma_cli_live) {
		ma_default_output(a->outbuf, sizeof(a->outbuf), a->target.name, a->pid);
		a->out = a->outbuf;
	}
	int r = ma_session_listen_for(&a->s, a->pid, a->target.uid[1], a->target.gid[1], err, sizeof(err));
	if (r == -2)   /* no place in its root: from memory, when it can */
		r = listen_in_memory(a, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&a->s);
		return r == -2 ? MA_EXIT_NO_AGENT : MA_EXIT_ERROR;
	}
	/* children are taken from whoever connects: only on a socket that
	 * only the target's user can reach (an abstract one takes only its
	 * user's connections, session_peer.c) */
	if (a->follow && a->s.sd.open_to_all) {
		fprintf(stderr, "memattach: --follow-fork needs a socket only process %d's user can reach, and you "
			"cannot give one to its user; run memattach as root\n", (int)a->pid);
		ma_session_cleanup(&a->s);
		return MA_EXIT_NO_AGENT;
	}
	a->s.peer_uid = a->target.uid[1];
	if (a->follow && a->s.in_memory && !a->quiet)
		fprintf(stderr, "memattach: note: process %d will load the agent from memory (no writable place in its "
			"root): the children it forks are followed, programs they exec are not (they cannot open it by "
			"a path; give the process a writable mount, a tmpfs, to follow those)\n", (int)a->pid);
	ma_proc_root(a->pid, "", a->s.root_prefix, sizeof(a->s.root_prefix));
	ma_target_files_as(a->pid);   /* what the stream names is opened as the target's user */
	/* A threshold snapshot is written later: check its directory now. */
	if (a->thr_text && !monitoring(a) && ma_outfile_check(a->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: cannot write %s: %s (choose another -o)\n", a->out, err);
		ma_session_cleanup(&a->s);
		return MA_EXIT_OUTPUT;
	}
	if (!a->thr_text && !monitoring(a) && a->out &&
	    ma_session_open_output(&a->s, a->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&a->s);
		return MA_EXIT_OUTPUT;
	}
	return -1;
}

/* The agent path as the target will open it (agent_place.c). */
int ma_attach_place_agent(struct attach *a)
{
	char err[1024];
	struct ma_inj_error ie;
	if (ma_inj_check_seccomp(a->pid, a->s.in_memory, &ie) != 0) {
		fprintf(stderr, "memattach: %s\n", ie.msg);
		return abandon(a, ma_inject_exit_code(&ie));
	}
	int placed = a->s.in_memory
			     ? ma_agent_place_in_memory(a->pid, a->agent, a->agent_t, sizeof(a->agent_t), err, sizeof(err))
		     : a->s.in_target_root
			     ? ma_agent_place_in_dir(a->pid, a->agent, &a->s.sd, a->agent_t, sizeof(a->agent_t), err,
						     sizeof(err))
			     : ma_agent_place(a->pid, a->agent, a->target.uid[1], a->agent_t, sizeof(a->agent_t),
					      err, sizeof(err));
	if (placed != MA_AGENT_PLACE_OK) {
		fprintf(stderr, "memattach: %s\n", err);
		return abandon(a, placed == MA_AGENT_PLACE_FOREIGN ? MA_EXIT_AGENT_FAILED
				  : placed == MA_AGENT_PLACE_DENIED ? MA_EXIT_NO_AGENT : MA_EXIT_ERROR);
	}
	/* --follow-fork in a container: the programs its children exec
	 * preload the agent by a path in its root, which an earlier
	 * attach's copy no longer has */
	if (a->follow && a->s.in_target_root && strncmp(a->agent_t, a->s.sd.path, strlen(a->s.sd.path))) {
		char copy[PATH_MAX];
		placed = ma_agent_copy_for_exec(a->agent, &a->s.sd, copy, sizeof(copy), err, sizeof(err));
		if (placed != MA_AGENT_PLACE_OK) {
			fprintf(stderr, "memattach: %s\n", err);
			return abandon(a, MA_EXIT_ERROR);
		}
	}
	/* tests/integration/ns-killed.sh: stopped with the agent in place */
	if (a->s.in_target_root && getenv("MEMATTACH_TEST_STOP_PLACED"))
		raise(SIGSTOP);
	return -1;
}

void ma_attach_catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A failure in a target under a seccomp filter may be the filter's: one
 * ma_inj_check_seccomp could not read (not root), or one that decides on
 * arguments it did not try. */
static const char *seccomp_hint(pid_t pid)
{
	return ma_inj_seccomp_mode(pid) == 2 ? " (the process runs under a seccomp filter, Seccomp: 2 in its "
					       "/proc status, which may be why)" : "";
}

/* The old glibc's path stops a thread for dlopen and the start call: the
 * user is told how long, as the thread saw it at most. */
static void say_old_path(const struct attach *a, const struct ma_inj_stats *st)
{
	if (a->quiet || st->on_own_thread || !st->no_pthread)
		return;
	fprintf(stderr, "memattach: note: process %d has no pthread_create to call (glibc older than 2.34 "
		"without libpthread): the agent was loaded on its thread %d, stopped for up to %.1f ms\n",
		(int)a->pid, (int)st->tid, st->stopped_ms);
}

/* Why the agent's start call failed: out of memory or threads, the
 * process's limits are the likely cause (agent.c maps its tables and
 * starts its thread in that call). */
static const char *start_failure(long result)
{
	if (result == -ENOMEM)
		return "it could not map its tables (Cannot allocate memory): the process is at its address-space "
		       "limit (RLIMIT_AS) or out of memory; the agent stays loaded, idle, and the process runs on; "
		       "raise its limit and attach again";
	if (result == -EAGAIN)
		return "it could not start its thread (Resource temporarily unavailable): the process is at its "
		       "thread or address-space limit (RLIMIT_NPROC, its cgroup's pids.max, RLIMIT_AS); the agent "
		       "stays loaded, idle, and the process runs on; raise its limit and attach again";
	return strerror((int)-result);
}

/* Loads the agent, which starts and connects. */
int ma_attach_inject(struct attach *a, struct ma_capture *c)
{
	struct ma_inj_error ie;
	char cfg[512];
	long result = 0;
	uint64_t t0 = ma_monotonic_ns();
	ma_agent_config(cfg, sizeof(cfg), a->s.sock_path, &a->ao, 1);
	if (a->follow)   /* its children connect on the same socket */
		strncat(cfg, ";follow=1", sizeof(cfg) - strlen(cfg) - 1);
	size_t used = strlen(cfg);
	if (a->follow && a->s.in_target_root &&   /* what their execs preload (exec_env.c) */
	    (size_t)snprintf(cfg + used, sizeof(cfg) - used, ";agentfile=%s/%s", a->s.sd.path,
			     MA_SESSION_AGENT_COPY) >= sizeof(cfg) - used)
		cfg[used] = 0;   /* too long: their execs are not followed */
	struct ma_inj_stats st;
	if (ma_inject_library_stats(a->pid, a->agent_t, "memattach_agent_start", cfg, &result, &st, &ie) != 0) {
		fprintf(stderr, "memattach: %s%s\n", ie.msg, seccomp_hint(a->pid));
		return abandon(a, ma_inject_exit_code(&ie));
	}
	say_old_path(a, &st);
	if (result != 0) {
		int busy = result == -EALREADY;
		fprintf(stderr, busy ? "memattach: pid %d is already being tracked by another memattach; wait for it to finish%s\n"
				     : "memattach: the agent could not start in pid %d: %s%s\n",
			(int)a->pid, busy ? "" : start_failure(result), busy ? "" : seccomp_hint(a->pid));
		return abandon(a, busy ? MA_EXIT_BUSY : MA_EXIT_AGENT_FAILED);
	}
	if (!ma_capture_connect(c, AGENT_CONNECT_TIMEOUT_MS)) {
		fprintf(stderr, "memattach: the agent in pid %d did not connect%s\n", (int)a->pid, seccomp_hint(a->pid));
		return abandon(a, MA_EXIT_AGENT_FAILED);
	}
	if (!a->follow)
		ma_session_remove_dir(&a->s);   /* nothing more connects: leave nothing behind */
	a->attach_ns = ma_monotonic_ns() - t0;
	return -1;
}

/* The capture of every event until the duration, a signal or the target's end. */
static int capture(struct attach *a, struct ma_capture *c)
{
	if (!a->quiet) {
		char d[32] = "until Ctrl-C";
		if (a->duration_ns)
			snprintf(d, sizeof(d), "for %.6gs", (double)a->duration_ns / 1e9);
		fprintf(stderr, "memattach: tracking pid %d (%s) %s, writing %s (attached in %.1f ms)\n",
			(int)a->pid, a->target.name, d, a->out, (double)a->attach_ns / 1e6);
	}
	c->duration_ns = a->duration_ns;
	c->status_line = !a->quiet && isatty(2);
	if (ma_capture_follow(c) == MA_END_ERROR)
		ma_session_send_stop(c->s);   /* what it sent is lost anyway */
	else if (!c->s->eof)
		ma_capture_stop(c);
	ma_capture_judge_end(c, a->quiet);
	int rc = ma_capture_close(c, a->out, a->quiet);
	ma_say_untracked(a->pid, c->s->forks, a->quiet);
	return rc;
}

static int watch_threshold(struct attach *a, struct ma_capture *c)
{
	a->th.duration_ns = a->duration_ns;
	a->th.out = a->out;
	a->th.quiet = a->quiet;
	a->th.pid = a->pid;
	a->th.size_text = a->thr_text;
	if (!a->quiet)
		fprintf(stderr, "memattach: watching pid %d (%s) until its %s reaches %s%s (attached in %.1f ms)\n",
			(int)a->pid, a->target.name, a->th.on_heap ? "tracked heap" : "RSS", a->thr_text,
			a->duration_ns ? " or the duration ends" : "", (double)a->attach_ns / 1e6);
	return ma_threshold_run(c, &a->th);
}

static int live_view(struct attach *a, struct ma_capture *c)
{
	struct ma_live_opts o = { a->pid, a->target.name, a->interval_ns ? a->interval_ns : 1000000000ull,
				  a->out, a->quiet };
	return ma_live_run(c, &o);
}

static int monitor(struct attach *a, struct ma_capture *c)
{
	struct ma_monitor_opts o = {
		.pid = a->pid, .comm = a->target.name, .every_ns = a->every_ns, .keep = a->keep,
		.dir = a->out, .thr_bytes = a->thr_text ? a->th.bytes : 0, .on_heap = a->th.on_heap,
		.thr_text = a->thr_text, .dump_count = a->dump_count ? a->dump_count : 1,
		.duration_ns = a->duration_ns, .quiet = a->quiet,
	};
	char every[64] = "";
	if (a->every_ns)
		snprintf(every, sizeof(every), ": a snapshot every %.6gs", (double)a->every_ns / 1e9);
	if (!a->quiet)
		fprintf(stderr, "memattach: watching pid %d (%s)%s%s%s, snapshots in %s (attached in %.1f ms)\n",
			(int)a->pid, a->target.name, every, a->thr_text ? "; dumps from " : "",
			a->thr_text ? a->thr_text : "", a->out, (double)a->attach_ns / 1e6);
	return ma_monitor_run(c, &o);
}

static int attach_main(int argc, char **argv, const struct ma_cli_cmd *cmd)
{
	static struct attach a;
	struct ma_capture c;
	int rc;
	memset(&a, 0, sizeof(a));
	a.cmd = cmd;
	a.ao = (struct ma_agent_opts)MA_AGENT_OPTS_INIT;
	if ((rc = parse_options(argc, argv, &a)) >= 0)
		return rc;
	if (a.npids || a.tree || a.follow)
		return ma_attach_many(&a);
	if (a.connect) {
		ma_attach_catch_signals();
		return ma_live_connect(&a, &stop_signal);
	}
	if ((rc = ma_attach_preflight(&a)) >= 0 ||
	    (rc = ma_attach_open_outputs(&a)) >= 0 || (rc = ma_attach_place_agent(&a)) >= 0)
		return rc;
	ma_attach_catch_signals();
	ma_capture_init(&c, &a.s, a.pid, &stop_signal);
	if ((rc = ma_attach_inject(&a, &c)) >= 0)
		return rc;
	if (cmd == &ma_cli_live)
		return live_view(&a, &c);
	if (monitoring(&a))
		return monitor(&a, &c);
	return a.thr_text ? watch_threshold(&a, &c) : capture(&a, &c);
}

int ma_attach_main(int argc, char **argv)
{
	return attach_main(argc, argv, &ma_cli_attach);
}

int ma_live_main(int argc, char **argv)
{
	return attach_main(argc, argv, &ma_cli_live);
}

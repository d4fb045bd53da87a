/* run.c — `memattach run -- CMD ARGS...`: start CMD with the agent
 * preloaded and capture it from its first allocation to its exit.
 * memattach exits with CMD's status (128+N when a signal killed it).
 * The capture itself is the shared loop (capture_loop.c). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "agent/agent.h"
#include "cli/cmd/capture_loop.h"
#include "cli/cmd/cli_table.h"
#include "cli/cmd/commands.h"
#include "cli/cmd/follow_loop.h"
#include "cli/cmd/run_follow.h"
#include "cli/util/exit_codes.h"

static volatile sig_atomic_t forward_sig;
static void on_term(int sig) { forward_sig = sig; }

struct run {
	char **cmd;                  /* CMD ARGS..., NULL-terminated */
	const char *out;
	int quiet;
	int follow;                  /* --follow-fork */
	struct ma_agent_opts ao;
	char agent[4096], outbuf[4096];
	struct ma_session s;
	pid_t pid;
	int go[2], execerr[2];       /* the child waits for go; exec's errno */
};

/* -1 to go on, else the exit code. */
static int parse_options(int argc, char **argv, struct run *r)
{
	int c, k;
	optind = 1;
	while ((c = ma_cli_getopt(&ma_cli_run, argc, argv)) != -1) {
		switch (c) {
		case MA_KEY_OUTPUT: r->out = optarg; break;
		case MA_KEY_QUIET: r->quiet = 1; break;
		case MA_KEY_FOLLOW_FORK: r->follow = 1; break;
		case MA_KEY_HELP: ma_cli_help(stdout, &ma_cli_run); return MA_EXIT_OK;
		default:
			if ((k = ma_agent_opt(c, optarg, &r->ao)) <= 0)
				return MA_EXIT_USAGE;   /* the message is out */
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "memattach run: no command given (usage: memattach run [options] -- CMD [ARGS...])\n");
		return MA_EXIT_USAGE;
	}
	r->cmd = argv + optind;
	return -1;
}

/* The child: waits for the go (so that its pid can name the output, and
 * the output is known to be writable before CMD starts), then execs CMD
 * with the agent preloaded. */
static void child(struct run *r)
{
	char cfg[512], b;
	close(r->go[1]);
	close(r->execerr[0]);
	if (read(r->go[0], &b, 1) != 1)
		_exit(127);
	ma_agent_config(cfg, sizeof(cfg), r->s.sock_path, &r->ao, 0);
	size_t cl = strlen(cfg);
	snprintf(cfg + cl, sizeof(cfg) - cl, ";pid=%d%s", (int)getpid(), r->follow ? ";follow=1" : "");
	setenv(MEMATTACH_AGENT_CONFIG_ENV, cfg, 1);
	const char *pre = getenv("LD_PRELOAD");
	char *np = malloc(strlen(r->agent) + (pre ? strlen(pre) : 0) + 2);
	if (np) {
		sprintf(np, "%s%s%s", r->agent, pre && *pre ? ":" : "", pre && *pre ? pre : "");
		setenv("LD_PRELOAD", np, 1);
	}
	execvp(r->cmd[0], r->cmd);
	int e = errno;
	ssize_t w = write(r->execerr[1], &e, sizeof(e));
	(void)w;
	_exit(127);
}

static int start_child(struct run *r)
{
	if (pipe2(r->go, O_CLOEXEC) < 0 || pipe2(r->execerr, O_CLOEXEC) < 0) {
		fprintf(stderr, "memattach: pipe: %s\n", strerror(errno));
		return MA_EXIT_ERROR;
	}
	r->pid = fork();
	if (r->pid < 0) {
		fprintf(stderr, "memattach: fork: %s\n", strerror(errno));
		return MA_EXIT_ERROR;
	}
	if (r->pid == 0)
		child(r);
	close(r->go[0]);
	close(r->execerr[1]);
	return -1;
}

static int open_output(struct run *r)
{
	char err[512];
	if (!r->out) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", r->cmd[0]);
		ma_default_output(r->outbuf, sizeof(r->outbuf), basename(tmp), r->pid);
		r->out = r->outbuf;
	}
	if (ma_session_open_output(&r->s, r->out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		kill(r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		return MA_EXIT_OUTPUT;
	}
	return -1;
}

/* Ctrl-C reaches CMD through the terminal; memattach outlives it to finish
 * the capture.  SIGTERM sent to memattach is passed on. */
static void pass_signals_on(void)
{
	struct sigaction sa;
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

static int go(struct run *r)
{
	int e = 0;
	if (write(r->go[1], "g", 1) != 1) {
		fprintf(stderr, "memattach: cannot start %s\n", r->cmd[0]);
		return MA_EXIT_ERROR;
	}
	close(r->go[1]);
	if (read(r->execerr[0], &e, sizeof(e)) == sizeof(e)) {
		fprintf(stderr, "memattach: cannot run %s: %s\n", r->cmd[0], strerror(e));
		waitpid(r->pid, NULL, 0);
		ma_session_abandon(&r->s);
		return 127;
	}
	close(r->execerr[0]);
	return -1;
}

/* Why the capture may be incomplete, from CMD's end. */
static void judge_end(struct run *r, struct ma_capture *c)
{
	if (!c->ever_connected) {
		fprintf(stderr, "memattach: the agent never started in %s (a statically linked program, or one that ignores LD_PRELOAD?)\n",
			r->cmd[0]);
		c->note = "the agent never connected";
	} else if (!r->s.got_trailer && !c->note) {
		c->note = WIFSIGNALED(c->wait_status) ? "the target was killed before the agent could finish"
						      : "the agent's stream ended early";
	}
}

static int exit_status(const struct ma_capture *c)
{
	if (c->rc != MA_EXIT_OK)
		return c->rc;
	if (WIFEXITED(c->wait_status))
		return WEXITSTATUS(c->wait_status);
	if (WIFSIGNALED(c->wait_status))
		return 128 + WTERMSIG(c->wait_status);
	return MA_EXIT_ERROR;
}

int ma_run_main(int argc, char **argv)
{
	static struct run r;
	struct ma_capture c;
	char err[512];
	int rc;
	memset(&r, 0, sizeof(r));
	r.ao = (struct ma_agent_opts)MA_AGENT_OPTS_INIT;
	if ((rc = parse_options(argc, argv, &r)) >= 0)
		return rc;
	if (!ma_find_agent(r.agent, sizeof(r.agent))) {
		fprintf(stderr, "memattach: agent library not found (looked at $MEMATTACH_AGENT, the build tree and %s): reinstall memattach or set MEMATTACH_AGENT\n", PKGLIBDIR);
		return MA_EXIT_NO_AGENT;
	}
	if (ma_session_listen(&r.s, getuid(), getgid(), err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&r.s);
		return MA_EXIT_ERROR;
	}
	if ((r.follow && ma_run_follow_prepare() < 0) || (rc = start_child(&r)) >= 0 ||
	    (rc = open_output(&r)) >= 0) {
		rc = rc >= 0 ? rc : MA_EXIT_ERROR;
		ma_session_cleanup(&r.s);
		return rc;
	}
	pass_signals_on();
	if ((rc = go(&r)) >= 0)
		return rc;
	if (r.follow)
		return ma_run_follow(&r.s, r.pid, r.out, r.quiet, &forward_sig);
	ma_capture_init(&c, &r.s, r.pid, &forward_sig);
	c.child = 1;
	ma_capture_follow(&c);
	judge_end(&r, &c);
	ma_capture_close(&c, r.out, r.quiet);
	ma_say_untracked(r.pid, r.s.forks, r.quiet);   /* the children it forked */
	return exit_status(&c);
}

/* run.c — `memattach run -- CMD ARGS...`: start CMD with the agent
 * preloaded and capture it from its first allocation to its exit.
 * memattach exits with CMD's status (128+N when a signal killed it). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "agent/agent.h"
#include "cli/util/exit_codes.h"
#include "cli/util/parse_units.h"
#include "cli/capture/session.h"
#include "cli/cmd/commands.h"

static volatile sig_atomic_t forward_sig;
static void on_term(int sig) { forward_sig = sig; }

static void usage_run(FILE *f)
{
	fprintf(f, "usage: memattach run [-o FILE] [--native-depth N] [--trace-python-allocators] [--native] [-q]\n"
		   "                    " MA_AGENT_OPTS_USAGE " -- CMD [ARGS...]\n");
}

int ma_run_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"native-depth", required_argument, NULL, 'd'},
		{"quiet", no_argument, NULL, 'q'},
		{"trace-python-allocators", no_argument, NULL, 'P'},
		{"native", no_argument, NULL, 'N'},
		MA_AGENT_LONG_OPTS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	struct ma_agent_opts ao = MA_AGENT_OPTS_INIT;
	int quiet = 0, c, k;
	char err[512], agent[4096], outbuf[4096];

	optind = 1;
	while ((c = getopt_long(argc, argv, "+o:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'q': quiet = 1; break;
		case 'h': usage_run(stdout); return MA_EXIT_OK;
		default:
			if ((k = ma_agent_opt(c, optarg, &ao)) < 0)
				return MA_EXIT_USAGE;
			if (k == 0) {
				usage_run(stderr);
				return MA_EXIT_USAGE;
			}
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "memattach run: no command given (usage: memattach run [options] -- CMD [ARGS...])\n");
		return MA_EXIT_USAGE;
	}
	if (!ma_find_agent(agent, sizeof(agent))) {
		fprintf(stderr, "memattach: agent library not found (looked at $MEMATTACH_AGENT, the build tree and %s): reinstall memattach or set MEMATTACH_AGENT\n", PKGLIBDIR);
		return MA_EXIT_NO_AGENT;
	}

	struct ma_session s;
	if (ma_session_listen(&s, getuid(), getgid(), err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		ma_session_cleanup(&s);
		return MA_EXIT_ERROR;
	}

	/* The child waits for the go so that its pid can name the output,
	 * and the output is known to be writable before CMD starts. */
	int go[2], execerr[2];
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(execerr, O_CLOEXEC) < 0) {
		fprintf(stderr, "memattach: pipe: %s\n", strerror(errno));
		ma_session_cleanup(&s);
		return MA_EXIT_ERROR;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "memattach: fork: %s\n", strerror(errno));
		ma_session_cleanup(&s);
		return MA_EXIT_ERROR;
	}
	if (pid == 0) {
		char cfg[512], b;
		close(go[1]);
		close(execerr[0]);
		if (read(go[0], &b, 1) != 1)
			_exit(127);
		ma_agent_config(cfg, sizeof(cfg), s.sock_path, &ao, 0);
		size_t cl = strlen(cfg);
		snprintf(cfg + cl, sizeof(cfg) - cl, ";pid=%d", (int)getpid());
		setenv(MEMATTACH_AGENT_CONFIG_ENV, cfg, 1);
		const char *pre = getenv("LD_PRELOAD");
		char *np = malloc(strlen(agent) + (pre ? strlen(pre) : 0) + 2);
		if (np) {
			sprintf(np, "%s%s%s", agent, pre && *pre ? ":" : "", pre && *pre ? pre : "");
			setenv("LD_PRELOAD", np, 1);
		}
		execvp(argv[optind], argv + optind);
		int e = errno;
		ssize_t w = write(execerr[1], &e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(go[0]);
	close(execerr[1]);

	if (!out) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", argv[optind]);
		ma_default_output(outbuf, sizeof(outbuf), basename(tmp), pid);
		out = outbuf;
	}
	if (ma_session_open_output(&s, out, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ma_session_cleanup(&s);
		return MA_EXIT_OUTPUT;
	}

	/* Ctrl-C reaches CMD through the terminal; memattach outlives it to
	 * finish the capture.  SIGTERM sent to memattach is passed on. */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (write(go[1], "g", 1) != 1) {
		fprintf(stderr, "memattach: cannot start %s\n", argv[optind]);
		return MA_EXIT_ERROR;
	}
	close(go[1]);
	int e = 0;
	if (read(execerr[0], &e, sizeof(e)) == sizeof(e)) {
		fprintf(stderr, "memattach: cannot run %s: %s\n", argv[optind], strerror(e));
		waitpid(pid, NULL, 0);
		ma_session_abandon(&s);
		return 127;
	}
	close(execerr[0]);

	int status = 0, exited = 0, rc = MA_EXIT_OK, connected = 0, reconnect = 0;
	const char *note = NULL;
	for (;;) {
		if (forward_sig) {
			kill(pid, forward_sig);
			forward_sig = 0;
		}
		if (!connected) {
			/* once CMD is gone, only what already waits in the
			 * queue (a program that connected and exited at once) */
			int a = ma_session_accept(&s, pid, exited ? 0 : 50, err, sizeof(err));
			if (a > 0)
				connected = 1;
			else if (exited)
				break;
			if (a > 0 && reconnect) {
				/* The capture is of the last program exec'd. */
				if (ma_session_restart(&s, err, sizeof(err)) < 0) {
					fprintf(stderr, "memattach: %s; stopping the capture\n", err);
					note = "capture stopped: output error";
					rc = MA_EXIT_OUTPUT;
					break;
				}
				reconnect = 0;
			}
		} else {
			int p = ma_session_pump(&s, 50, err, sizeof(err));
			if (p < 0) {
				fprintf(stderr, "memattach: %s; stopping the capture\n", err);
				note = "capture stopped: output error";
				rc = MA_EXIT_OUTPUT;
				break;
			}
			if (p == 0 && !s.got_trailer && !exited) {
				/* The stream ended with CMD perhaps alive: it may
				 * have exec'd (a pyenv shim, `env`, a wrapper's
				 * exec), and the new program's agent connects.  Keep
				 * what we have until that happens. */
				close(s.conn_fd);
				s.conn_fd = -1;
				connected = 0;
				reconnect = 1;
				continue;
			}
			if (p == 0 && exited)
				break;
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
	}
	if (!exited)
		waitpid(pid, &status, 0);
	if (!connected && !reconnect) {
		fprintf(stderr, "memattach: the agent never started in %s (a statically linked program, or one that ignores LD_PRELOAD?)\n", argv[optind]);
		note = "the agent never connected";
	} else if (!s.got_trailer && !note) {
		note = WIFSIGNALED(status) ? "the target was killed before the agent could finish"
					   : "the agent's stream ended early";
	}
	uint64_t events = s.events;
	if (ma_session_finish(&s, note, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		rc = MA_EXIT_OUTPUT;
	}
	if (!quiet)
		fprintf(stderr, "memattach: %llu events captured%s, written to %s\n",
			(unsigned long long)events, note ? " (incomplete)" : "", out);
	if (rc != MA_EXIT_OK)
		return rc;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return MA_EXIT_ERROR;
}

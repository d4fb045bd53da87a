/* capture_loop.c — the one capture loop: see capture_loop.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/cmd/capture_loop.h"
#include "cli/report/report.h"
#include "cli/util/exit_codes.h"
#include "procfs/procfs.h"

#define PUMP_WAIT_MS 50
#define STATUS_EVERY_NS 250000000ull
#define AGENT_STOP_TIMEOUT_NS (10ull * 1000000000ull)

void ma_capture_init(struct ma_capture *c, struct ma_session *s, pid_t pid,
		     volatile sig_atomic_t *stop_signal)
{
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->pid = pid;
	c->stop_signal = stop_signal;
	c->rc = MA_EXIT_OK;
}

int ma_capture_connect(struct ma_capture *c, int timeout_ms)
{
	char err[256];
	int a = 0;
	for (int waited = 0; a == 0 && waited < timeout_ms; waited += 100)
		a = ma_session_accept(c->s, c->pid, 100, err, sizeof(err));
	c->connected = c->ever_connected = a > 0;
	return c->connected;
}

static void clear_status(struct ma_capture *c)
{
	if (c->status_line && c->last_status_ns)
		fprintf(stderr, "\r\033[K");
	c->last_status_ns = 0;
}

static void show_status(struct ma_capture *c, uint64_t now)
{
	char rss[32], heap[32] = "?";
	double el = (double)(now - c->start_ns) / 1e9;

	if (!c->status_line || now - c->last_status_ns <= STATUS_EVERY_NS)
		return;
	c->last_status_ns = now;
	ma_fmt_bytes(c->s->last_rss, rss, sizeof(rss));
	if (c->have_live && !c->live.failed)
		ma_fmt_bytes(c->live.a->live_bytes, heap, sizeof(heap));
	if (c->duration_ns)
		fprintf(stderr, "\r\033[K%.1fs / %.0fs  %llu events  tracked heap %s  RSS %s", el,
			(double)c->duration_ns / 1e9, (unsigned long long)c->s->events, heap, rss);
	else
		fprintf(stderr, "\r\033[K%.1fs  %llu events  tracked heap %s  RSS %s  (Ctrl-C to stop)", el,
			(unsigned long long)c->s->events, heap, rss);
}

/* The tracked heap for the status line: the analysis follows the stream
 * only when someone watches the terminal and no hook reads the stream. */
static void start_live(struct ma_capture *c)
{
	if (!c->status_line || c->s->on_record)
		return;
	c->have_live = ma_live_init(&c->live) == 0;
	if (c->have_live) {
		c->s->on_record = ma_live_on_record;
		c->s->on_record_ctx = &c->live;
	}
}

static void stop_live(struct ma_capture *c)
{
	if (!c->have_live)
		return;
	c->s->on_record = NULL;
	ma_live_free(&c->live);
	c->have_live = 0;
}

static void output_error(struct ma_capture *c, const char *err)
{
	clear_status(c);
	fprintf(stderr, "memattach: %s; stopping the capture\n", err);
	c->note = "capture stopped: output error";
	c->rc = MA_EXIT_OUTPUT;
	c->reported = 1;
}

/* -1 to go on, else why the capture ends. */
static int stop_reason(struct ma_capture *c, uint64_t now)
{
	if (*c->stop_signal) {
		if (!c->child)
			return MA_END_SIGNAL;
		kill(c->pid, *c->stop_signal);   /* run: CMD decides when to end */
		*c->stop_signal = 0;
	}
	if (c->duration_ns && now - c->start_ns >= c->duration_ns)
		return MA_END_DURATION;
	return -1;
}

/* run: waiting for the (next) agent.  Once CMD is gone, only what already
 * waits in the queue (a program that connected and exited at once). */
static int accept_next(struct ma_capture *c)
{
	char err[256];
	int a = ma_session_accept(c->s, c->pid, c->exited ? 0 : PUMP_WAIT_MS, err, sizeof(err));
	if (a <= 0)
		return c->exited ? MA_END_STREAM : -1;
	c->connected = c->ever_connected = 1;
	if (c->reconnect) {
		/* The capture is of the last program exec'd. */
		if (ma_session_restart(c->s, err, sizeof(err)) < 0) {
			output_error(c, err);
			return MA_END_ERROR;
		}
		c->reconnect = 0;
	}
	return -1;
}

static int pump(struct ma_capture *c)
{
	char err[512];
	int p = ma_session_pump(c->s, PUMP_WAIT_MS, err, sizeof(err));
	if (p < 0) {
		output_error(c, err);
		return MA_END_ERROR;
	}
	if (p > 0)
		return c->hook && c->hook(c->hook_ctx) ? MA_END_HOOK : -1;
	if (!c->child || c->exited)
		return MA_END_STREAM;
	if (!c->s->got_trailer) {
		/* The stream ended with CMD alive: it may have exec'd (a pyenv
		 * shim, `env`, a wrapper's exec) and the new program's agent
		 * connects.  Keep what we have until that happens. */
		close(c->s->conn_fd);
		c->s->conn_fd = -1;
		c->connected = 0;
		c->reconnect = 1;
	} else {
		poll(NULL, 0, 10);   /* CMD is exiting: wait for it */
	}
	return -1;
}

enum ma_capture_end ma_capture_follow(struct ma_capture *c)
{
	int end = -1;
	c->start_ns = ma_monotonic_ns();
	start_live(c);
	while (end < 0) {
		uint64_t now = ma_monotonic_ns();
		if ((end = stop_reason(c, now)) >= 0)
			break;
		end = c->connected ? pump(c) : accept_next(c);
		if (c->child && !c->exited && waitpid(c->pid, &c->wait_status, WNOHANG) == c->pid)
			c->exited = 1;
		show_status(c, now);
	}
	if (c->child && !c->exited) {
		waitpid(c->pid, &c->wait_status, 0);
		c->exited = 1;
	}
	return (enum ma_capture_end)end;
}

void ma_capture_stop(struct ma_capture *c)
{
	char err[512];
	uint64_t t0 = ma_monotonic_ns();
	ma_session_send_stop(c->s);
	for (;;) {
		uint64_t now = ma_monotonic_ns();
		if (now - t0 > AGENT_STOP_TIMEOUT_NS) {
			c->note = "the agent did not finish in time";
			break;   /* closing the socket makes the agent unhook */
		}
		int p = ma_session_pump(c->s, PUMP_WAIT_MS, err, sizeof(err));
		if (p < 0) {
			output_error(c, err);
			break;
		}
		if (p == 0)
			break;
		show_status(c, now);
	}
}

static int target_alive(pid_t pid)
{
	struct ma_proc_stat st;
	return ma_proc_stat(pid, &st) == 0 && st.state != 'Z' && st.state != 'X';
}

void ma_capture_judge_end(struct ma_capture *c, int quiet)
{
	int exited;
	clear_status(c);
	if (c->note)
		return;
	if (c->s->got_trailer) {
		/* The agent says why it stopped: the target's own exit is not
		 * a capture we ended (README: exit 13). */
		exited = c->s->trailer_reason == MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT;
	} else {
		/* A killed process closes its files before it becomes a zombie:
		 * give it a moment to finish dying before deciding. */
		for (int i = 0; i < 50 && target_alive(c->pid); i++)
			usleep(10000);
		exited = !target_alive(c->pid);
	}
	if (exited) {
		c->note = "the target exited during the capture";
		if (!quiet)
			fprintf(stderr, "memattach: pid %d exited during the capture; the capture holds what was recorded until then\n",
				(int)c->pid);
		c->rc = MA_EXIT_TARGET_GONE;
	} else if (!c->s->got_trailer) {
		c->note = "the agent's stream ended early";
		fprintf(stderr, "memattach: the agent in pid %d stopped sending before the end of the capture\n",
			(int)c->pid);
		c->rc = MA_EXIT_AGENT_FAILED;
	}
}

int ma_capture_close(struct ma_capture *c, const char *out, int quiet)
{
	char err[1024];
	uint64_t events = c->s->events;
	clear_status(c);
	stop_live(c);
	if (ma_session_finish(c->s, c->note, err, sizeof(err)) < 0) {
		/* A full disk was said once already. */
		if (!c->reported)
			fprintf(stderr, "memattach: %s\n", err);
		c->rc = MA_EXIT_OUTPUT;
	}
	if (!quiet)
		fprintf(stderr, "memattach: %llu events captured%s, written to %s\n",
			(unsigned long long)events, c->note ? " (incomplete)" : "", out);
	return c->rc;
}

/* follow_loop.c — several captures at once: see follow_loop.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli/capture/peer_identity.h"
#include "cli/capture/session_peer.h"
#include "cli/cmd/follow_loop.h"
#include "cli/report/report.h"
#include "cli/symbols/target_files.h"
#include "cli/util/exit_codes.h"
#include "procfs/procfs.h"

#define PUMP_WAIT_MS 50
#define AGENT_STOP_TIMEOUT_NS (10ull * 1000000000ull)
#define AGENT_STOP_MAX_NS (120ull * 1000000000ull)
#define MAX_POLL 1024
/* Captures of children that exited are finished (symbols, trailer) at the
 * end, so that symbolizing does not hold the other streams up; past this
 * many, the oldest is finished when no stream has anything to read (a
 * descriptor and a compressor each: a server recycling its workers for
 * hours), past twice as many at once.  Finished while streams flow, it
 * kept agents of exiting processes waiting past their final flush's
 * limit on a loaded machine. */
#define MAX_ENDED 32

void ma_say_untracked(pid_t pid, uint64_t forks, int quiet)
{
	unsigned long long n = forks;
	if (n && !quiet)
		fprintf(stderr, "memattach: %llu child process%s of pid %d %s not tracked (--follow-fork tracks them)\n",
			n, n == 1 ? "" : "es", (int)pid, n == 1 ? "was" : "were");
}

static int pid_handle(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

/* Has the process p was made for exited?  (0: running, or unknown.) */
static int process_gone(const struct ma_proc_cap *p)
{
	struct pollfd pf = { p->pidfd, POLLIN, 0 };
	return p->pidfd >= 0 && poll(&pf, 1, 0) > 0 && (pf.revents & (POLLIN | POLLHUP));
}

struct ma_proc_cap *ma_follow_add(struct ma_follow *f, struct ma_session *s, pid_t pid,
				  const char *out, int named)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct ma_proc_cap **g = realloc(f->p, cap * sizeof(*g));
		if (!g)
			return NULL;
		f->p = g;
		f->cap = cap;
	}
	struct ma_proc_cap *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->s = s;
	p->pid = pid;
	p->named = named;
	snprintf(p->out, sizeof(p->out), "%s", out);
	if (ma_proc_comm(pid, p->comm, sizeof(p->comm)) < 0)
		snprintf(p->comm, sizeof(p->comm), "?");
	p->connected = p->ever_connected = s->conn_fd >= 0;
	p->id.root_fd = -1;
	p->pidfd = pid_handle(pid);
	if (named && p->pidfd >= 0)   /* run's CMD, or a process attached */
		ma_peer_identity_of_child(pid, p->pidfd, &p->born);
	struct ma_proc_status ps;
	if (!f->run_pid && ma_proc_status(pid, &ps) == 0) {
		ma_target_files_as(pid);
		ma_target_files_get(&p->id);
		p->id_known = 1;
	}
	f->p[f->n++] = p;
	return p;
}

/* The latest process with that pid (*gen: how many had it). */
static struct ma_proc_cap *find_gen(struct ma_follow *f, pid_t pid, int *gen)
{
	struct ma_proc_cap *p = NULL;
	*gen = 0;
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i]->pid == pid) {
			p = f->p[i];
			++*gen;
		}
	return p;
}

static struct ma_proc_cap *find(struct ma_follow *f, pid_t pid)
{
	int gen;
	return find_gen(f, pid, &gen);
}

/* Only the followed tree may connect: pid's parents lead to a process we
 * follow, or (run, where we are the subreaper of the tree) to us.  A
 * process that has exited (a zombie, or reaped: the kernel then shows
 * parent 0) cannot be told: a short-lived child of the tree, whose
 * connection waited in the queue — only our user can reach the socket. */
static int in_tree(struct ma_follow *f, pid_t pid)
{
	struct ma_proc_stat st;
	for (int depth = 0; depth < 64 && pid > 1; depth++) {
		if (ma_proc_stat(pid, &st) < 0 || st.state == 'Z' || st.state == 'X' || st.ppid == 0)
			return depth == 0;
		pid = st.ppid;
		if ((f->run_pid && pid == getpid()) || find(f, pid))
			return 1;
	}
	return 0;
}

static void output_error(struct ma_follow *f, struct ma_proc_cap *p, const char *err)
{
	fprintf(stderr, "memattach: pid %d: %s; stopping its capture\n", (int)p->pid, err);
	p->note = "capture stopped: output error";
	f->rc = MA_EXIT_OUTPUT;
	ma_session_send_stop(p->s);
	close(p->s->conn_fd);
	p->s->conn_fd = -1;
	p->connected = 0;
}

/* A child the tree forked: a capture CAP.<pid> of its own (CAP.<pid>.<gen>
 * for a pid used again by a later process: gen 2, 3...). */
static struct ma_proc_cap *new_child(struct ma_follow *f, const struct ma_session *l, pid_t pid,
				     int gen, char *err, size_t errlen)
{
	char out[PATH_MAX], root[64] = "";
	struct ma_session *s = malloc(sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (l->root_prefix[0])
		ma_proc_root(pid, "", root, sizeof(root));
	ma_session_init_peer(s, root);
	if (gen > 1)
		snprintf(out, sizeof(out), "%s.%d.%d", f->base_out, (int)pid, gen);
	else
		snprintf(out, sizeof(out), "%s.%d", f->base_out, (int)pid);
	struct ma_proc_cap *p = NULL;
	if (ma_session_open_output(s, out, err, errlen) < 0 || !(p = ma_follow_add(f, s, pid, out, 0))) {
		free(s);
		return NULL;
	}
	p->owned = 1;
	/* gone already: it was its parent's user (the process it connected
	 * as a child of), the one the socket was given to */
	struct ma_proc_cap *parent = find(f, l->peer_pid);
	if (!f->run_pid && !p->id_known && parent && parent->id_known) {
		ma_target_files_set(&parent->id);
		ma_target_files_get(&p->id);
		p->id_known = 1;
	}
	return p;
}

/* The stream before an exec in place ends once its socket is read out. */
static void drain(struct ma_follow *f, struct ma_proc_cap *p)
{
	char err[512];
	uint64_t t0 = ma_monotonic_ns();
	while (p->connected && ma_monotonic_ns() - t0 < AGENT_STOP_TIMEOUT_NS) {
		int r = ma_session_pump(p->s, PUMP_WAIT_MS, err, sizeof(err));
		if (r < 0)
			output_error(f, p, err);
		else if (r == 0)
			p->connected = 0;
	}
}

/* The name of the program that connected (it may have exec'd since we
 * looked); gone already, the one its agent sent (tracked_heap). */
static void refresh_comm(struct ma_proc_cap *p)
{
	if (process_gone(p) || ma_proc_comm(p->pid, p->comm, sizeof(p->comm)) < 0)
		snprintf(p->comm, sizeof(p->comm), "?");
}

/* pid connected again: the program it exec'd.  Its capture starts over
 * (the capture is of the last program, as for run's CMD). */
static int restart(struct ma_follow *f, struct ma_proc_cap *p, char *err, size_t errlen)
{
	drain(f, p);
	if (p->s->conn_fd >= 0)
		close(p->s->conn_fd);
	p->s->conn_fd = -1;
	if (ma_session_restart(p->s, err, errlen) < 0)
		return -1;
	p->note = NULL;
	refresh_comm(p);
	return 0;
}

/* Is the process behind a new connection p's (an exec in place, or
 * run's CMD connecting first)?  Told by the identities both connections
 * began with, else by the one we read of p ourselves: CMD's before it
 * connects, and a connection's that sent none (an exec can end the
 * agent's thread between its connect and its identity); by p's pidfd
 * only for agents that send none. */
static int same_process(const struct ma_proc_cap *p, const struct ma_peer_identity *now)
{
	int same = -1;
	if (p->ever_connected && (p->s->ident.have || !p->born.have))
		same = ma_peer_identity_same(&p->s->ident, now);
	else if (p->born.have && now->have)
		same = ma_peer_identity_same(&p->born, now);
	return same >= 0 ? same : !process_gone(p);
}

static void take_connection(struct ma_follow *f, const struct ma_session *l, int fd, pid_t pid,
			    const struct ma_peer_identity *ident, int peer_pidfd)
{
	char err[1024];
	int gen;
	struct ma_proc_cap *p = find_gen(f, pid, &gen);
	if (p && p->ever_connected)
		drain(f, p);
	/* Ended with its trailer, or another process (the first one exited,
	 * killed or not, and its pid was given again).  An exec in place
	 * sends no trailer and is the same process. */
	if (p && (p->s->got_trailer || !same_process(p, ident)))
		p = NULL;
	if (!p && !in_tree(f, pid)) {
		fprintf(stderr, "memattach: refused a connection from pid %d (not in the followed process tree)\n",
			(int)pid);
		close(fd);
		if (peer_pidfd >= 0)
			close(peer_pidfd);
		return;
	}
	int bad = 0;
	if (p && p->ever_connected)
		bad = restart(f, p, err, sizeof(err)) < 0;
	else if (p)
		refresh_comm(p);
	else if (!p && (p = new_child(f, l, pid, gen + 1, err, sizeof(err)))) {
		/* the process that connected, not whichever has its pid now */
		if (p->pidfd >= 0)
			close(p->pidfd);
		p->pidfd = peer_pidfd;
		peer_pidfd = -1;
		if (p->pidfd >= 0)
			ma_peer_identity_of_child(pid, p->pidfd, &p->born);
	} else if (!p)
		bad = 1;
	if (peer_pidfd >= 0)
		close(peer_pidfd);
	if (bad) {
		fprintf(stderr, "memattach: pid %d: %s; it is not tracked\n", (int)pid, err);
		close(fd);
		if (p)
			p->note = "capture stopped: output error";
		f->rc = MA_EXIT_OUTPUT;
		return;
	}
	if (ma_session_adopt(p->s, fd, pid, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		f->rc = MA_EXIT_OUTPUT;
		return;
	}
	p->connected = p->ever_connected = 1;
}

/* Has an earlier pending connection the same pid?  Then it goes first
 * (the first process with a pid has CAP.<pid>). */
static int earlier_same_pid(const struct ma_follow *f, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (f->pend[k].pid == f->pend[i].pid)
			return 1;
	return 0;
}

/* Gives each pending connection whose identity came (or whose stream
 * ended) to its capture; all of them when force (the end). */
static void settle_pending(struct ma_follow *f, int force)
{
	size_t i = 0;
	while (i < f->npend) {
		struct ma_peer_identity id;
		if (earlier_same_pid(f, i) || (!ma_peer_identity_peek(f->pend[i].fd, &id) && !force)) {
			i++;
			continue;
		}
		struct ma_pending_conn c = f->pend[i];
		memmove(&f->pend[i], &f->pend[i + 1], (f->npend - i - 1) * sizeof(c));
		f->npend--;
		take_connection(f, c.l, c.fd, c.pid, &id, c.pidfd);
		i = 0;   /* a later one of that pid may be ready now */
	}
}

static int add_pending(struct ma_follow *f, struct ma_session *l, int fd, pid_t pid)
{
	if (f->npend == f->cap_pend) {
		size_t cap = f->cap_pend ? f->cap_pend * 2 : 16;
		struct ma_pending_conn *g = realloc(f->pend, cap * sizeof(*g));
		if (!g)
			return -1;
		f->pend = g;
		f->cap_pend = cap;
	}
	f->pend[f->npend++] = (struct ma_pending_conn){ fd, pid, ma_peer_pidfd(fd), l };
	return 0;
}

static void accept_on(struct ma_follow *f, struct ma_session *l)
{
	int fd;
	pid_t pid;
	while (ma_session_accept_peer(l, 0, &fd, &pid) > 0)
		if (add_pending(f, l, fd, pid) < 0) {
			fprintf(stderr, "memattach: pid %d: out of memory; it is not tracked\n", (int)pid);
			close(fd);
		}
	settle_pending(f, 0);
}

/* Every listener (the sessions of the processes named or started by the
 * command; children connect on their parent's). */
static void accept_new(struct ma_follow *f)
{
	for (size_t i = 0; f->follow && i < f->n; i++)
		if (f->p[i]->s->listen_fd >= 0)
			accept_on(f, f->p[i]->s);
}

static void finish_one(struct ma_follow *f, struct ma_proc_cap *p);

static void finish_oldest_ended(struct ma_follow *f)
{
	for (size_t i = 0; i < f->n; i++) {
		struct ma_proc_cap *p = f->p[i];
		if (!p->named && !p->finished && !p->connected && p->s->got_trailer) {
			finish_one(f, p);
			f->ended--;
			return;
		}
	}
}

static void pump_one(struct ma_follow *f, struct ma_proc_cap *p)
{
	char err[512];
	int r = ma_session_pump(p->s, 0, err, sizeof(err));
	if (r < 0) {
		output_error(f, p, err);
	} else if (r == 0) {
		/* Its stream ended: the process exited, or exec'd (then its
		 * new program connects again). */
		close(p->s->conn_fd);
		p->s->conn_fd = -1;
		p->connected = 0;
		if (!p->named && p->s->got_trailer && ++f->ended > 2 * MAX_ENDED)
			finish_oldest_ended(f);
	}
}

/* Waits up to timeout_ms for any stream or a new connection, then moves
 * what came. */
static void pump_ready(struct ma_follow *f, int timeout_ms)
{
	struct pollfd pf[MAX_POLL];
	struct ma_proc_cap *who[MAX_POLL];
	int listening[MAX_POLL];
	nfds_t n = 0;
	for (size_t i = 0; i < f->n && n + 2 <= MAX_POLL; i++) {
		struct ma_proc_cap *p = f->p[i];
		if (f->follow && p->s->listen_fd >= 0) {
			who[n] = p;
			listening[n] = 1;
			pf[n++] = (struct pollfd){ p->s->listen_fd, POLLIN, 0 };
		}
		if (p->connected) {
			who[n] = p;
			listening[n] = 0;
			pf[n++] = (struct pollfd){ p->s->conn_fd, POLLIN, 0 };
		}
	}
	/* a connection waiting for an earlier one of its pid is not looked
	 * at (its identity may be there already: no busy loop) */
	nfds_t npoll = n;
	for (size_t i = 0; i < f->npend && n < MAX_POLL; i++)
		if (!earlier_same_pid(f, i))
			pf[n++] = (struct pollfd){ f->pend[i].fd, POLLIN, 0 };
	int ready = poll(pf, n, timeout_ms);
	while (ready == 0 && f->ended > MAX_ENDED)
		finish_oldest_ended(f);
	if (ready <= 0)
		return;
	for (nfds_t i = npoll; i < n; i++)
		if (pf[i].revents) {
			settle_pending(f, 0);
			break;
		}
	for (nfds_t i = 0; i < npoll; i++) {
		if (!pf[i].revents)
			continue;
		if (listening[i])
			accept_on(f, who[i]->s);
		else if (who[i]->connected && who[i]->s->conn_fd == pf[i].fd)
			pump_one(f, who[i]);
	}
}

static int any_connected(const struct ma_follow *f)
{
	if (f->npend)
		return 1;
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i]->connected)
			return 1;
	return 0;
}

/* Its stream ended without a trailer while the process lives on: it
 * exec'd, and its new program connects again (an attached master too,
 * whose exec'd program loads the agent from the environment the hooks
 * gave it).  Not so for an agent that stopped for an error of ours. */
static int exec_pending(const struct ma_follow *f, const struct ma_proc_cap *p)
{
	struct ma_proc_stat st;
	if (!f->follow || p->connected || !p->ever_connected || p->s->got_trailer || p->note || p->finished)
		return 0;
	if (p->pidfd >= 0)
		return !process_gone(p);
	return ma_proc_stat(p->pid, &st) == 0 && st.state != 'Z' && st.state != 'X';
}

static int any_exec_pending(const struct ma_follow *f)
{
	for (size_t i = 0; i < f->n; i++)
		if (exec_pending(f, f->p[i]))
			return 1;
	return 0;
}

/* run: reaps CMD and the orphans of its tree (we are their subreaper).
 * 1 once no process of the tree is left. */
static int tree_gone(struct ma_follow *f)
{
	int st;
	pid_t w;
	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		if (w == f->run_pid) {
			f->run_status = st;
			f->run_exited = 1;
		}
	return w < 0 && errno == ECHILD;
}

/* 1 when the capture is to end. */
static int should_end(struct ma_follow *f, uint64_t t0)
{
	if (*f->stop_signal) {
		/* run: CMD decides when to end; once it is gone, a signal ends
		 * the capture of what is left of its tree (a daemon). */
		if (!f->run_pid || f->run_exited)
			return 1;
		kill(f->run_pid, *f->stop_signal);
		*f->stop_signal = 0;
	}
	if (f->duration_ns && ma_monotonic_ns() - t0 >= f->duration_ns)
		return 1;
	if (f->run_pid)
		return tree_gone(f) && !any_connected(f);
	return !any_connected(f) && !any_exec_pending(f);
}

void ma_follow_run(struct ma_follow *f)
{
	uint64_t t0 = ma_monotonic_ns();
	for (;;) {
		pump_ready(f, PUMP_WAIT_MS);
		if (!should_end(f, t0))
			continue;
		/* What connected meanwhile (a child's agent connects before
		 * fork() returns in it) is taken before the end. */
		accept_new(f);
		if (!any_connected(f) || !f->run_pid || *f->stop_signal)
			break;
	}
}

static uint64_t bytes_in(const struct ma_follow *f)
{
	uint64_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->p[i]->s->bytes_in;
	return n;
}

/* The agents' ends: given up only when nothing came for the stop timeout
 * (dozens of agents flush their backlog at once: on a loaded machine that
 * takes longer than any one of them would), or past AGENT_STOP_MAX_NS. */
void ma_follow_stop_all(struct ma_follow *f)
{
	uint64_t t0 = ma_monotonic_ns(), last = t0, seen = bytes_in(f);
	settle_pending(f, 1);
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i]->connected)
			ma_session_send_stop(f->p[i]->s);
	for (uint64_t now = t0; any_connected(f) && now - last < AGENT_STOP_TIMEOUT_NS &&
				now - t0 < AGENT_STOP_MAX_NS; now = ma_monotonic_ns()) {
		pump_ready(f, PUMP_WAIT_MS);
		if (bytes_in(f) != seen) {
			seen = bytes_in(f);
			last = ma_monotonic_ns();
		}
	}
	for (size_t i = 0; i < f->n; i++)
		if (f->p[i]->connected)
			f->p[i]->note = "the agent did not finish in time";
}

/* Why a capture may be incomplete; a named target of --pid that exited
 * is exit 13, as for one target. */
static void judge(struct ma_follow *f, struct ma_proc_cap *p)
{
	struct ma_proc_stat st;
	if (p->note)
		return;
	if (!p->ever_connected) {
		p->note = "the agent never connected";
		return;
	}
	int gone = ma_proc_stat(p->pid, &st) < 0 || st.state == 'Z' || st.state == 'X';
	int exited = p->s->got_trailer ? p->s->trailer_reason == MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT
				       : gone;
	if (!p->s->got_trailer)
		p->note = exited ? "the process ended before its agent could finish" : "the agent's stream ended early";
	if (exited && p->named && !f->run_pid) {
		p->note = "the target exited during the capture";
		if (f->rc == MA_EXIT_OK)
			f->rc = MA_EXIT_TARGET_GONE;
	}
}

/* The tracked heap at the end, read from the finished capture: the
 * streams are not analysed while they come (with dozens of processes the
 * CLI fell behind them, and agents gave up their last flush); read one
 * after the other here, the analysis costs a few ms each. */
static void tracked_heap(struct ma_proc_cap *p, char *heap, size_t len)
{
	char err[512];
	ma_analysis *a = ma_analysis_new();
	if (a && ma_analysis_run(a, p->out, err, sizeof(err)) == 0) {
		ma_fmt_bytes(a->live_bytes, heap, len);
		/* gone before we looked: the name its agent sent */
		if (a->has_header && a->comm && !strcmp(p->comm, "?"))
			snprintf(p->comm, sizeof(p->comm), "%s", a->comm);
	}
	ma_analysis_free(a);
}

static void summary(const struct ma_follow *f, struct ma_proc_cap *p)
{
	char heap[32] = "?", rss[32];
	if (f->quiet)
		return;
	if (p->ever_connected)
		tracked_heap(p, heap, sizeof(heap));
	ma_fmt_bytes(p->s->last_rss, rss, sizeof(rss));
	fprintf(stderr, "memattach: pid %d (%s): tracked heap %s, RSS %s, %llu events%s, written to %s\n",
		(int)p->pid, p->comm, heap, rss, (unsigned long long)p->s->events,
		!p->note ? "" : p->s->got_trailer ? " (exited)" : " (incomplete)", p->out);
}

/* --pid: the files the stream names are opened as the process's user,
 * as it was when it came (DESIGN.md "Security"); unknown (gone before
 * it could be seen), its capture gets no symbols here (memattach
 * symbolize adds them later). */
static void files_as(struct ma_proc_cap *p)
{
	if (p->id_known) {
		ma_target_files_set(&p->id);
		return;
	}
	fprintf(stderr, "memattach: pid %d was gone before its user could be known: its capture is left without symbols (memattach symbolize %s adds them)\n",
		(int)p->pid, p->out);
	p->s->got_header = 0;   /* ma_session_finish: no symbolization */
}

static void finish_one(struct ma_follow *f, struct ma_proc_cap *p)
{
	char err[1024];
	if (p->finished)
		return;
	p->finished = 1;
	if (p->pidfd >= 0)
		close(p->pidfd);   /* its trailer (or the end) says it is gone */
	p->pidfd = -1;
	judge(f, p);
	if (!f->run_pid)
		files_as(p);
	if (ma_session_finish(p->s, p->note, err, sizeof(err)) < 0) {
		fprintf(stderr, "memattach: %s\n", err);
		f->rc = MA_EXIT_OUTPUT;
	}
	summary(f, p);
	if (!f->follow)
		ma_say_untracked(p->pid, p->s->forks, f->quiet);
}

int ma_follow_finish(struct ma_follow *f)
{
	/* Children first: the first processes' sessions hold the listener. */
	for (size_t i = f->n; i-- > 0;)
		finish_one(f, f->p[i]);
	for (size_t i = 0; i < f->n; i++) {
		ma_target_files_drop(&f->p[i]->id);
		if (f->p[i]->owned)
			free(f->p[i]->s);
		free(f->p[i]);
	}
	free(f->p);
	f->p = NULL;
	f->n = f->cap = 0;
	for (size_t i = 0; i < f->npend; i++) {   /* came after the end */
		close(f->pend[i].fd);
		if (f->pend[i].pidfd >= 0)
			close(f->pend[i].pidfd);
	}
	free(f->pend);
	f->pend = NULL;
	f->npend = f->cap_pend = 0;
	return f->rc;
}

/* attach_many.c — `memattach --pid a,b,c`, `--pid-tree P` and `--pid P
 * --follow-fork`: each target attached as one --pid is (attach.c), into
 * a capture of its own, then followed together (follow_loop.c): one
 * duration, one Ctrl-C, a summary line per process.  Names: with
 * --pid-tree and --follow-fork the first process writes FILE and the
 * others FILE.<pid>; with a list every one writes FILE.<pid>. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cmd/attach.h"
#include "cli/cmd/follow_loop.h"
#include "cli/cmd/pid_tree.h"
#include "cli/util/exit_codes.h"
#include "cli/util/parse_units.h"

int ma_attach_parse_pids(struct attach *a, const char *arg)
{
	char err[512], one[32];
	uint64_t v;
	a->npids = 0;
	for (const char *p = arg; *p;) {
		size_t l = strcspn(p, ",");
		snprintf(one, sizeof(one), "%.*s", (int)(l < sizeof(one) - 1 ? l : sizeof(one) - 1), p);
		if (ma_parse_uint_range(one, 1, INT_MAX, "--pid", &v, err, sizeof(err)) < 0) {
			fprintf(stderr, "memattach: %s\n", err);
			return MA_EXIT_USAGE;
		}
		for (size_t i = 0; i < a->npids; i++)
			if (a->pids[i] == (pid_t)v) {
				fprintf(stderr, "memattach: --pid %s names %d twice; give each process once\n", arg, (int)v);
				return MA_EXIT_USAGE;
			}
		if (a->npids == MA_ATTACH_MAX_PIDS) {
			fprintf(stderr, "memattach: --pid names more than %d processes; capture fewer at once\n",
				MA_ATTACH_MAX_PIDS);
			return MA_EXIT_USAGE;
		}
		a->pids[a->npids++] = (pid_t)v;
		p += l + (p[l] == ',');
	}
	a->pid = a->npids ? a->pids[0] : 0;
	return -1;
}

int ma_attach_many_check(const struct attach *a)
{
	if (a->thr_text && (a->npids || a->tree || a->follow)) {
		fprintf(stderr, "memattach: --dump-on-threshold watches one process; give one --pid, without --pid-tree or --follow-fork\n");
		return MA_EXIT_USAGE;
	}
	if (a->tree && a->npids) {
		fprintf(stderr, "memattach: give either --pid a,b,c or --pid-tree PID, not both\n");
		return MA_EXIT_USAGE;
	}
	return -1;
}

/* The processes to attach to, in order. */
static int targets(const struct attach *t, pid_t *pids)
{
	if (t->npids) {
		memcpy(pids, t->pids, t->npids * sizeof(*pids));
		return (int)t->npids;
	}
	if (!t->tree) {
		pids[0] = t->pid;
		return 1;
	}
	int n = ma_pid_tree(t->pid, pids, MA_ATTACH_MAX_PIDS);
	if (n < 0)
		perror("memattach: reading /proc");
	return n;
}

/* FILE (or the default name of the first target). */
static const char *base_name(struct attach *t, pid_t first)
{
	char comm[64];
	if (t->out)
		return t->out;
	if (ma_proc_comm(first, comm, sizeof(comm)) < 0)
		snprintf(comm, sizeof(comm), "pid");
	ma_default_output(t->outbuf, sizeof(t->outbuf), comm, first);
	return t->outbuf;
}

/* One target made ready to inject, as `--pid` does; NULL after the
 * message, with *rc set. */
static struct attach *prepare(const struct attach *tmpl, pid_t pid, const char *base, int own_name, int *rc)
{
	struct attach *a = malloc(sizeof(*a));
	if (!a) {
		*rc = MA_EXIT_ERROR;
		return NULL;
	}
	memcpy(a, tmpl, sizeof(*a));
	a->pid = pid;
	int len = own_name ? snprintf(a->outbuf, sizeof(a->outbuf), "%s", base)
			   : snprintf(a->outbuf, sizeof(a->outbuf), "%s.%d", base, (int)pid);
	if (len < 0 || (size_t)len >= sizeof(a->outbuf)) {
		fprintf(stderr, "memattach: the output name %s is too long; choose a shorter -o\n", base);
		*rc = MA_EXIT_OUTPUT;
		free(a);
		return NULL;
	}
	a->out = a->outbuf;
	if ((*rc = ma_attach_preflight(a)) >= 0 || (*rc = ma_attach_open_outputs(a)) >= 0 ||
	    (*rc = ma_attach_place_agent(a)) >= 0) {
		free(a);
		return NULL;
	}
	return a;
}

static void say_tracking(const struct attach *t, struct attach **a, size_t n)
{
	char d[32] = "until Ctrl-C";
	if (t->quiet)
		return;
	if (t->duration_ns)
		snprintf(d, sizeof(d), "for %.6gs", (double)t->duration_ns / 1e9);
	fprintf(stderr, "memattach: tracking %zu process%s%s %s:", n, n == 1 ? "" : "es",
		t->follow ? " and the children they fork" : "", d);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %d (%s)", (int)a[i]->pid, a[i]->target.name);
	fprintf(stderr, "\n");
}

/* Attaches to every target; the follow set gets those attached.  -1, or
 * the exit code of the first failure (the others are then stopped). */
static int attach_all(const struct attach *tmpl, struct attach **a, size_t n, struct ma_follow *f)
{
	for (size_t i = 0; i < n; i++) {
		struct ma_capture c;
		ma_capture_init(&c, &a[i]->s, a[i]->pid, &ma_attach_stop_signal);
		int rc = ma_attach_inject(a[i], &c);
		if (rc >= 0) {
			for (size_t k = i + 1; k < n; k++)
				ma_session_abandon(&a[k]->s);
			return rc;
		}
		if (!tmpl->quiet)
			fprintf(stderr, "memattach: pid %d (%s) attached in %.1f ms, writing %s\n", (int)a[i]->pid,
				a[i]->target.name, (double)a[i]->attach_ns / 1e6, a[i]->out);
		ma_follow_add(f, &a[i]->s, a[i]->pid, a[i]->out, 1);
	}
	return -1;
}

static void follow_init(struct ma_follow *f, const struct attach *t, const char *base)
{
	memset(f, 0, sizeof(*f));
	f->follow = t->follow;
	f->base_out = base;
	f->duration_ns = t->duration_ns;
	f->stop_signal = &ma_attach_stop_signal;
	f->quiet = t->quiet;
	f->rc = MA_EXIT_OK;
}

int ma_attach_many(struct attach *tmpl)
{
	static pid_t pids[MA_ATTACH_MAX_PIDS];
	struct attach *a[MA_ATTACH_MAX_PIDS];
	struct ma_follow f;
	int n = targets(tmpl, pids), rc = -1;
	if (n <= 0)
		return MA_EXIT_NO_PROCESS;
	const char *base = base_name(tmpl, pids[0]);
	for (int i = 0; i < n; i++)
		if (!(a[i] = prepare(tmpl, pids[i], base, i == 0 && !tmpl->npids, &rc))) {
			while (i-- > 0) {
				ma_session_abandon(&a[i]->s);
				free(a[i]);
			}
			return rc;
		}
	ma_attach_catch_signals();
	follow_init(&f, tmpl, base);
	rc = attach_all(tmpl, a, (size_t)n, &f);
	if (rc < 0) {
		say_tracking(tmpl, a, (size_t)n);
		ma_follow_run(&f);
	}
	ma_follow_stop_all(&f);
	int frc = ma_follow_finish(&f);
	for (int i = 0; i < n; i++)
		free(a[i]);
	return rc >= 0 ? rc : frc;
}

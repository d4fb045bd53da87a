/* cli_table.c — the one table of commands and options, and what is made
 * from it: getopt_long's arguments, every --help and the man page. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "cli/cmd/cli_table.h"
#include "cli/capture/session.h"
#include "cli/report/report.h"
#include "cli/util/exit_codes.h"
#include "record_io.h"

#define AGENT_OPTS \
	{ "native-depth", 0, MA_KEY_DEPTH, "N", "native frames kept per stack, 1 to 256 (default 64)" }, \
	{ "trace-python-allocators", 0, MA_KEY_PYALLOC, NULL, \
	  "Python: also wrap the PyMem RAW, MEM and OBJ allocators, so every\n" \
	  "object pymalloc serves is seen (not only its arenas)" }, \
	{ "native", 0, MA_KEY_PYNATIVE, NULL, \
	  "Python: keep every native frame of Python stacks (by default the\n" \
	  "unwinding stops at the innermost eval-loop frame)" }, \
	{ "sample", 0, MA_OPT_SAMPLE, "SIZE", \
	  "record a sample of the allocations: one per SIZE bytes allocated on\n" \
	  "average (512KiB: a few percent of cost, for hours in production);\n" \
	  "reports then show estimates, and exact call counts" }, \
	{ "stall-limit", 0, MA_OPT_STALL_LIMIT, "TIME", \
	  "longest a thread of the target waits for a CLI that does not read\n" \
	  "(default $MEMATTACH_STALL_LIMIT, else 100ms); past it see --on-stall" }, \
	{ "on-stall", 0, MA_OPT_ON_STALL, "drop|end", \
	  "past the stall limit: drop events and count them (default), or end\n" \
	  "the session" }

#define FOLLOW_FORK_OPT(who) \
	{ "follow-fork", 0, MA_KEY_FOLLOW_FORK, NULL, \
	  "also track every child " who " forks, each into its own capture\n" \
	  "FILE.<pid> (exec'd programs too with run)" }

static const struct ma_cli_opt attach_opts[] = {
	{ "pid", 'p', MA_KEY_PID, "PID[,PID...]",
	  "the process to attach to; several: one capture each, FILE.<pid>" },
	{ "pid-tree", 0, MA_KEY_PID_TREE, "PID",
	  "PID and its descendants now running, one capture each: FILE for\n"
	  "PID, FILE.<pid> for the others" },
	FOLLOW_FORK_OPT("PID"),
	{ "duration", 't', MA_KEY_DURATION, "TIME",
	  "capture for TIME: seconds (2.5) or 250ms, 90s, 5m, 1h; above zero.\n"
	  "Without it: until Ctrl-C or SIGTERM" },
	{ "output", 'o', MA_KEY_OUTPUT, "FILE",
	  "the capture file (default memattach-COMM-PID-YYYYmmddTHHMMSS.memcap)" },
	{ "dump-on-threshold", 0, MA_KEY_THRESHOLD, "SIZE",
	  "follow the process without writing events; when its memory reaches\n"
	  "SIZE (500MB, 1.5GiB), write a snapshot of the live set to FILE, show\n"
	  "the top holders and a flame graph (FILE.html), and detach" },
	{ "threshold-on", 0, MA_KEY_THRESHOLD_ON, "rss|heap",
	  "what --dump-on-threshold watches: the RSS (default) or the tracked heap" },
	{ "dump-count", 0, MA_KEY_DUMP_COUNT, "N",
	  "--dump-on-threshold: dump up to N times, again each time the memory\n"
	  "reaches the last dump's value plus SIZE; snapshots go to the directory -o" },
	{ "every", 0, MA_KEY_EVERY, "TIME",
	  "stay attached and write a snapshot of the live set every TIME into the\n"
	  "directory -o (default .), each with the growth since the previous one" },
	{ "keep", 0, MA_KEY_KEEP, "N", "--every: keep the last N periodic snapshots (default all)" },
	AGENT_OPTS,
	{ "quiet", 'q', MA_KEY_QUIET, NULL, "no status lines on stderr (errors still)" },
	{ "help", 'h', MA_KEY_HELP, NULL, "this help" },
	{ "version", 0, MA_KEY_VERSION, NULL, "the version" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct ma_cli_opt live_opts[] = {
	{ "pid", 'p', MA_KEY_PID, "PID", "the process to attach to" },
	{ "connect", 0, MA_KEY_CONNECT, "PATH",
	  "view a Python Tracker(live_mode=True) instead: the socket it names\n"
	  "(tracker.live_address; the program waits for the viewer)" },
	{ "interval", 0, MA_KEY_INTERVAL, "TIME", "redraw every TIME (default 1s, at least 10ms)" },
	{ "output", 'o', MA_KEY_OUTPUT, "FILE", "also write the whole session as a capture to FILE" },
	AGENT_OPTS,
	{ "quiet", 'q', MA_KEY_QUIET, NULL, "no lines on stderr after the view ends (errors still)" },
	{ "help", 'h', MA_KEY_HELP, NULL, "this help" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct ma_cli_opt run_opts[] = {
	{ "output", 'o', MA_KEY_OUTPUT, "FILE",
	  "the capture file (default memattach-CMD-PID-YYYYmmddTHHMMSS.memcap)" },
	FOLLOW_FORK_OPT("CMD and its children"),
	AGENT_OPTS,
	{ "quiet", 'q', MA_KEY_QUIET, NULL, "no status lines on stderr (errors still)" },
	{ "help", 'h', MA_KEY_HELP, NULL, "this help" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct ma_cli_opt report_opts[] = {
	{ "output", 'o', MA_KEY_OUTPUT, "OUT", "write the report to OUT instead of standard output" },
	{ "json", 0, MA_RKEY_JSON, NULL, "stats, summary, tree: one JSON object (folded, pprof, flamegraph\n"
	  "refuse it)" },
	{ "top", 0, MA_RKEY_TOP, "N", "stats: stacks in the top lists (default 10)" },
	{ "frames", 0, MA_RKEY_FRAMES, "N", "stats: frames shown per stack (default 6)" },
	{ "peak", 0, MA_RKEY_PEAK, NULL, "blocks live when the live total was highest (default)" },
	{ "leaks", 0, MA_RKEY_LEAKS, NULL, "blocks still live at the end of the capture" },
	{ "total", 0, MA_RKEY_TOTAL, NULL, "everything allocated over the capture" },
	{ "temporary", 0, MA_RKEY_TEMPORARY, NULL,
	  "allocations freed before their thread's next allocation" },
	{ "thread", 0, MA_RKEY_THREAD, "TID|NAME",
	  "only allocations made by this thread (its id, or the name the\n"
	  "reports show: its last; Python's thread name when known; a\n"
	  "container's thread by its host id or its id in its namespace)" },
	{ "min-size", 0, MA_RKEY_MIN_SIZE, "BYTES", "ignore allocations smaller than this (4096, 1MiB)" },
	{ "time", 0, MA_RKEY_TIME, "FROM:TO",
	  "allocations made between these seconds since the start\n"
	  "(either side may be empty: 5: or :2.5)" },
	{ "native", 0, MA_RKEY_NATIVE, NULL,
	  "every native frame; for Python captures the default shows Python\n"
	  "frames and the native frames below the innermost" },
	{ "keep-wrappers", 0, MA_RKEY_KEEP_WRAPPERS, NULL,
	  "show allocator wrappers (zmalloc, g_malloc, palloc, sqlite3Malloc, xmalloc,\n"
	  "strdup, PyMem_Malloc...) as locations of their own; by default they count as\n"
	  "the allocator and own memory lands on their callers" },
	{ "wrapper", 0, MA_RKEY_WRAPPER, "REGEX", "more wrappers: whole function names (repeatable)" },
	{ "base", 0, MA_RKEY_BASE, "OLD",
	  "summary, tree, folded, flamegraph, pprof: this capture minus OLD, per\n"
	  "location (function and file:line: captures of different builds compare)" },
	{ "inverted", 0, MA_RKEY_INVERTED, NULL,
	  "summary, tree, folded, flamegraph: bottom-up, allocation sites first, then\n"
	  "who called them (summary: each top location with its biggest callers)" },
	{ "callers", 0, MA_RKEY_CALLERS, "FUNC",
	  "tree, folded, flamegraph: who called FUNC, the stacks through it from it outwards" },
	{ "callees", 0, MA_RKEY_CALLEES, "FUNC",
	  "tree, folded, flamegraph: what FUNC called, the stacks through it from it inwards" },
	{ "max", 0, MA_RKEY_MAX, "N", "summary: rows (default 10)" },
	{ "sort", 0, MA_RKEY_SORT, "own|total|count", "summary: the order of the rows (default own)" },
	{ "min-percent", 0, MA_RKEY_MIN_PERCENT, "P", "tree: prune nodes below P% of the total (default 1)" },
	{ "root", 0, MA_RKEY_ROOT, "DIR",
	  "a capture without symbols (its recording was cut off): read the target's\n"
	  "files under DIR (its chroot, its container's root); by default the root\n"
	  "the capture recorded, else this machine's files (build ids checked)" },
	{ "help", 'h', MA_KEY_HELP, NULL, "this help" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct ma_cli_opt symbolize_opts[] = {
	{ "output", 'o', MA_KEY_OUTPUT, "OUT", "write the symbolized capture to OUT instead of replacing CAPTURE" },
	{ "root", 0, MA_RKEY_ROOT, "DIR",
	  "read the target's files under DIR (its chroot, its container's root); by\n"
	  "default the root the capture recorded, else this machine's files" },
	{ "help", 'h', MA_KEY_HELP, NULL, "this help" },
	{ NULL, 0, 0, NULL, NULL },
};

const struct ma_cli_cmd ma_cli_attach = {
	"attach",
	"--pid PID[,PID...] [--duration TIME] [-o FILE] [--native-depth N] [--quiet]\n"
	"          [--trace-python-allocators] [--native] [--follow-fork] [--sample SIZE]\n"
	"--pid-tree PID [--duration TIME] [-o FILE] [--follow-fork] [options]\n"
	"--pid PID --dump-on-threshold SIZE [--threshold-on rss|heap] [--duration TIME]\n"
	"          [-o FILE] [--native-depth N] [--sample SIZE] [--quiet]\n"
	"--pid PID --every TIME [--keep N] [-o DIR] [--dump-on-threshold SIZE [--dump-count N]]\n"
	"          [--sample SIZE]",
	"Attach to the running process PID (ptrace, then the agent is loaded into it), capture its\n"
	"allocations with their stacks, and leave the process as it was.",
	attach_opts, 0,
};

const struct ma_cli_cmd ma_cli_live = {
	"live",
	"live --pid PID [--interval TIME] [-o FILE] [--trace-python-allocators] [--native]\n"
	"          [--sample SIZE]\n"
	"          live --connect PATH [--interval TIME] [-o FILE]",
	"A full-screen view of the memory live now in PID, redrawn every interval: the tracked\n"
	"heap, RSS and rates over time, and the locations holding memory; keys sort, show a\n"
	"location's call tree, filter by thread, pause and write snapshots (? lists them).",
	live_opts, 0,
};

const struct ma_cli_cmd ma_cli_run = {
	"run",
	"run [-o FILE] [--follow-fork] [--native-depth N] [--trace-python-allocators] [--native] [-q]\n"
	"          [--sample SIZE] [--] CMD [ARGS...]",
	"Start CMD with the agent preloaded and capture it from its first allocation to its exit;\n"
	"exit with CMD's status (128+N when signal N killed it).",
	run_opts, 1,
};

const struct ma_cli_cmd ma_cli_report = {
	"report",
	"report FORMAT CAPTURE [-o OUT] [options]",
	"Read a capture file and write one report of it.",
	report_opts, 0,
};

const struct ma_cli_cmd ma_cli_symbolize = {
	"symbolize",
	"symbolize CAPTURE [-o OUT] [--root DIR]",
	"Add the Symbol records a capture lacks (its recording was cut off) from the files at\n"
	"hand (a target in another root: through that root, as recorded or given with --root),\n"
	"build ids checked; CAPTURE is replaced by the new copy only when it is whole.",
	symbolize_opts, 0,
};

/* Hidden: started by the Python package, not in --help or the man page. */
static const struct ma_cli_opt receive_opts[] = {
	{ "pid", 0, MA_KEY_PID, "PID", "the process whose agent connects (the captures are named on stdin)" },
	{ NULL, 0, 0, NULL, NULL },
};

const struct ma_cli_cmd ma_cli_receive = {
	"receive",
	"receive --pid PID",
	"The CLI's end of an in-process session (the Python package starts it).",
	receive_opts, 0,
};

static const struct ma_cli_cmd *const commands[] = {
	&ma_cli_attach, &ma_cli_live, &ma_cli_run, &ma_cli_report, &ma_cli_symbolize
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const char *ma_cli_prefix(const struct ma_cli_cmd *c)
{
	return c == &ma_cli_attach ? "memattach" : c == &ma_cli_run ? "memattach run"
	     : c == &ma_cli_live ? "memattach live"
	     : c == &ma_cli_report ? "memattach report" : c == &ma_cli_receive ? "memattach receive"
	     : "memattach symbolize";
}

/* getopt_long's '?': an unknown option, or an abbreviation of several. */
static void bad_option(const struct ma_cli_cmd *c, const char *a)
{
	const char *p = ma_cli_prefix(c);
	if (!(a[0] == '-' && a[1] == '-')) {
		fprintf(stderr, "%s: unknown option '-%c' (see %s --help)\n", p, optopt, p);
		return;
	}
	size_t l = strcspn(a + 2, "=");
	int matches = 0;
	for (const struct ma_cli_opt *o = c->opts; o->name; o++)
		matches += !strncmp(o->name, a + 2, l);
	if (matches > 1)
		fprintf(stderr, "%s: ambiguous option '%.*s': several options begin so; write more of it (see %s --help)\n",
			p, (int)l + 2, a, p);
	else
		fprintf(stderr, "%s: unknown option '%.*s' (see %s --help)\n", p, (int)l + 2, a, p);
}

/* An option whose name extends an earlier one's (--pid-tree after --pid)
 * gets its getopt value, so that the shorter one's abbreviations (--pi)
 * stay unambiguous; getopt_long's index tells the two apart. */
static int getopt_val(const struct ma_cli_opt *opts, const struct ma_cli_opt *o)
{
	for (const struct ma_cli_opt *e = opts; e < o; e++)
		if (!strncmp(o->name, e->name, strlen(e->name)) && !e->arg == !o->arg)
			return e->key;
	return o->key;
}

int ma_cli_getopt(const struct ma_cli_cmd *c, int argc, char **argv)
{
	struct option lo[40];
	char so[64] = "";
	size_t n = 0, k = 0;
	if (c->in_order)
		so[k++] = '+';
	so[k++] = ':';   /* a missing value is ':', told by us */
	for (const struct ma_cli_opt *o = c->opts; o->name && n + 1 < 40; o++, n++) {
		lo[n] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL,
					 getopt_val(c->opts, o) };
		if (o->letter && k + 3 < sizeof so) {
			so[k++] = o->letter;
			if (o->arg)
				so[k++] = ':';
		}
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	so[k] = 0;
	opterr = 0;
	int idx = -1;
	int r = getopt_long(argc, argv, so, lo, &idx);
	if (idx >= 0 && (size_t)idx < n && r == lo[idx].val)
		r = c->opts[idx].key;
	if (r == ':') {
		fprintf(stderr, "%s: %s needs a value (see %s --help)\n", ma_cli_prefix(c),
			argv[optind - 1], ma_cli_prefix(c));
		return '?';
	}
	if (r == '?')
		bad_option(c, argv[optind - 1]);
	return r;
}

/* "-o, --output FILE" as help and man page show it. */
static void opt_words(const struct ma_cli_opt *o, char *buf, size_t len, int roff)
{
	const char *dash = roff ? "\\-" : "-";
	int k = 0;
	if (o->letter)
		k = snprintf(buf, len, "%s%c, ", dash, o->letter);
	snprintf(buf + k, len - (size_t)k, "%s%s%s%s%s", dash, dash, o->name, o->arg ? " " : "",
		 o->arg ? o->arg : "");
}

static void help_options(FILE *f, const struct ma_cli_opt *opts)
{
	char w[80];
	for (const struct ma_cli_opt *o = opts; o->name; o++) {
		opt_words(o, w, sizeof w, 0);
		fprintf(f, "  %-30s ", w);
		for (const char *p = o->help; *p; p++) {
			fputc(*p, f);
			if (*p == '\n')
				fprintf(f, "  %-30s ", "");
		}
		fputc('\n', f);
	}
}

/* The synopsis lines; "usage: " before the very first. */
static void synopsis(FILE *f, const struct ma_cli_cmd *c, int first)
{
	const char *p = c->synopsis;
	while (*p) {
		size_t l = strcspn(p, "\n");
		int cont = p[0] == ' ';
		fprintf(f, "%s%.*s\n", cont ? "" : first ? "usage: memattach " : "       memattach ",
			(int)l, p);
		first = 0;
		p += l + (p[l] == '\n');
	}
}

void ma_cli_usage(FILE *f, const struct ma_cli_cmd *c)
{
	synopsis(f, c, 1);
}

static void help_formats(FILE *f)
{
	size_t n;
	const ma_report_format *fm = ma_report_formats(&n);
	fprintf(f, "formats:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-10s %s\n", fm[i].name, fm[i].help);
}

void ma_cli_help(FILE *f, const struct ma_cli_cmd *c)
{
	ma_cli_usage(f, c);
	fprintf(f, "\n%s\n", c->what);
	if (c == &ma_cli_report)
		help_formats(f);
	fprintf(f, "options:\n");
	help_options(f, c->opts);
}

void ma_cli_help_all(FILE *f)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		synopsis(f, commands[i], i == 0);
	fprintf(f, "       memattach --version | --help\n");
	fprintf(f, "\n%s\n", ma_cli_attach.what);
	fprintf(f, "options:\n");
	help_options(f, ma_cli_attach.opts);
	fprintf(f, "\n`memattach run --help`, `memattach report --help` and `memattach symbolize --help`\n"
		   "tell the rest; man memattach.\n");
}

/* ---------------------------------------------------------- man page */

/* Text for roff: '-' as \-, a leading '.' or '\'' escaped, '\\' doubled. */
static void roff(FILE *f, const char *s)
{
	int bol = 1;
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
		bol = *s == '\n';
	}
}

static void man_options(FILE *f, const struct ma_cli_opt *opts)
{
	char w[80];
	for (const struct ma_cli_opt *o = opts; o->name; o++) {
		opt_words(o, w, sizeof w, 1);
		fprintf(f, ".TP\n.B %s\n", w);
		roff(f, o->help);
		fputc('\n', f);
	}
}

static void man_synopsis(FILE *f, const struct ma_cli_cmd *c)
{
	const char *p = c->synopsis;
	while (*p) {
		size_t l = strcspn(p, "\n");
		char line[256];
		snprintf(line, sizeof line, "%.*s", (int)l, p);
		if (line[0] != ' ')
			fputs(".br\n.B memattach\n", f);
		roff(f, line + strspn(line, " "));
		fputc('\n', f);
		p += l + (p[l] == '\n');
	}
}

struct man_exit { int code; const char *what; };
static const struct man_exit exit_codes[] = {
	{ MA_EXIT_OK, "success (run: CMD's own status instead)" },
	{ MA_EXIT_ERROR, "internal error, out of memory" },
	{ MA_EXIT_USAGE, "bad option, size or duration; report --thread naming no thread of the capture" },
	{ MA_EXIT_BAD_CAPTURE, "capture unreadable, corrupt, of a newer format, or not a regular file" },
	{ MA_EXIT_OUTPUT, "output path unwritable, disk full" },
	{ MA_EXIT_NO_PROCESS, "no such process, or PID names a thread, not a process" },
	{ MA_EXIT_NOT_PERMITTED, "not permitted to trace (another user, not dumpable, kernel.yama.ptrace_scope)" },
	{ MA_EXIT_STATIC, "statically linked target, or no dynamic loader" },
	{ MA_EXIT_ZOMBIE, "target is a zombie" },
	{ MA_EXIT_KERNEL_THREAD, "target is a kernel thread" },
	{ MA_EXIT_SELF, "target is memattach itself" },
	{ MA_EXIT_NO_AGENT, "agent library not found, or no place in the target's root (a container) where it can load it" },
	{ MA_EXIT_BUSY, "another memattach is tracking the target" },
	{ MA_EXIT_TARGET_GONE, "the target exited during the capture (the capture is valid)" },
	{ MA_EXIT_THRESHOLD_NOT_REACHED, "--dump-on-threshold: the threshold was never reached" },
	{ MA_EXIT_INJECT_FAILED, "injection failed (no safe point found in time, remote call failed)" },
	{ MA_EXIT_AGENT_FAILED, "the agent did not start, did not connect, or stopped sending early" },
	{ MA_EXIT_STOPPED, "the target is stopped (SIGSTOP, Ctrl-Z); it is left stopped" },
	{ MA_EXIT_OUTPUT_IS_INPUT, "report -o OUT: OUT is the capture being read (by any path or hard link); nothing is written" },
	{ MA_EXIT_NO_JSON, "report --json for a format that has no JSON output (folded, pprof, flamegraph)" },
	{ MA_EXIT_DAMAGED, "report: the capture is damaged; the report covers what was readable" },
	{ MA_EXIT_NOT_A_TERMINAL, "live: the standard output is not a terminal" },
	{ MA_EXIT_TARGET_LIMIT, "the target could not give the attach a page or a thread (RLIMIT_AS, RLIMIT_NPROC, pids.max); nothing was loaded" },
};

static void man_command(FILE *f, const struct ma_cli_cmd *c, const char *title)
{
	fprintf(f, ".SS %s\n", title);
	roff(f, c->what);
	fputc('\n', f);
	if (c == &ma_cli_report) {
		size_t n;
		const ma_report_format *fm = ma_report_formats(&n);
		fputs(".PP\nFormats:\n", f);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, ".TP\n.B %s\n", fm[i].name);
			roff(f, fm[i].help);
			fputc('\n', f);
		}
		fputs(".PP\nOptions:\n", f);
	}
	man_options(f, c->opts);
}

void ma_cli_man(FILE *f)
{
	fputs(".\\\" memattach.1 \\(em made by `memattach --man` from cli/cmd/cli_table.c; do not edit\n", f);
	fprintf(f, ".TH MEMATTACH 1 \"\" \"memattach %s\" \"User Commands\"\n", PACKAGE_VERSION);
	fputs(".SH NAME\nmemattach \\- memory profiler for running Linux processes\n.SH SYNOPSIS\n", f);
	for (size_t i = 0; i < NCOMMANDS; i++)
		man_synopsis(f, commands[i]);
	fputs(".br\n.B memattach\n\\-\\-version | \\-\\-help\n", f);
	fputs(".SH DESCRIPTION\n", f);
	roff(f, "memattach attaches to a running process with ptrace, loads its agent into it, and\n"
		"records every allocation and free with its call stack into a capture file, which\n"
		"memattach report reads.  The target is never stopped for long, and is left as it was.\n");
	fputs(".SH COMMANDS\n", f);
	man_command(f, &ma_cli_attach, "memattach \\-\\-pid PID");
	man_command(f, &ma_cli_run, "memattach run");
	man_command(f, &ma_cli_report, "memattach report");
	man_command(f, &ma_cli_symbolize, "memattach symbolize");
	fputs(".SH EXIT STATUS\n", f);
	for (size_t i = 0; i < sizeof exit_codes / sizeof exit_codes[0]; i++) {
		fprintf(f, ".TP\n.B %d\n", exit_codes[i].code);
		roff(f, exit_codes[i].what);
		fputc('\n', f);
	}
	fputs(".SH ENVIRONMENT\n", f);
	fputs(".TP\n.B MEMATTACH_AGENT\n", f);
	roff(f, "path of the agent library (libmemattach-agent.so) to load instead of the installed one\n");
	fputs(".TP\n.B MEMATTACH_STALL_LIMIT\n", f);
	roff(f, "the default of --stall-limit (a TIME)\n");
	fputs(".TP\n.B MEMATTACH_SAMPLE_SEED\n", f);
	roff(f, "with --sample: the samplers' seed (a number), for a reproducible choice of samples\n");
	fputs(".TP\n.B MEMATTACH_SYMBOL_CACHE\n", f);
	roff(f, "off: keep no names from one capture to the next (see MEMATTACH_CACHE_DIR)\n");
	fputs(".TP\n.B MEMATTACH_CACHE_DIR\n", f);
	roff(f, "where names are kept from one capture to the next, by build id, so that a capture whose "
		"addresses were all named before opens no module file (default "
		"$XDG_CACHE_HOME/memattach, else ~/.cache/memattach)\n");
	fputs(".TP\n.B TMPDIR\n", f);
	roff(f, "where the private session directory and its socket are made (default /tmp)\n");
	fputs(".SH FILES\n", f);
	fputs(".TP\n.I PKGLIBDIR/libmemattach-agent.so\n", f);
	roff(f, "the agent loaded into the target (PKGLIBDIR is the installation's, by default\n"
		"/usr/local/lib/memattach)\n");
	fputs(".TP\n.I *.memcap\n", f);
	fprintf(f, "capture files: zstd\\-compressed, length\\-prefixed protobuf records "
		   "(proto/memattach.proto), format version %u.%u; a reader refuses a newer major version.\n",
		MA_FORMAT_MAJOR, MA_FORMAT_MINOR);
	fputs(".SH SEE ALSO\n.BR ptrace (2),\n.BR proc (5)\n", f);
}

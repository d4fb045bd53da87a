/* cli_table.h — the one table of memattach's commands and options.
 * Option parsing (getopt_long), `memattach --help`, each command's --help
 * and the man page memattach.1 (`memattach --man`) are all made from it. */
#ifndef MEMATTACH_CLI_TABLE_H
#define MEMATTACH_CLI_TABLE_H

#include <stdio.h>

/* getopt values of the options without a short letter (report's own are
 * enum ma_report_key in cli/report/report.h, from 300 up). */
enum ma_cli_key {
	MA_KEY_PID = 'p',
	MA_KEY_DURATION = 't',
	MA_KEY_OUTPUT = 'o',
	MA_KEY_QUIET = 'q',
	MA_KEY_HELP = 'h',
	MA_KEY_DEPTH = 'd',           /* ma_agent_opt's letters */
	MA_KEY_PYALLOC = 'P',
	MA_KEY_PYNATIVE = 'N',
	/* 0x100, 0x101, 0x128: MA_OPT_STALL_LIMIT, MA_OPT_ON_STALL, MA_OPT_SAMPLE (session.h) */
	MA_KEY_THRESHOLD = 0x110,
	MA_KEY_THRESHOLD_ON,
	MA_KEY_VERSION,
	MA_KEY_MAN,
	MA_KEY_FOLLOW_FORK = 0x150,   /* fork's: --follow-fork, --pid-tree */
	MA_KEY_PID_TREE,
	MA_KEY_INTERVAL = 0x130,      /* live and monitoring (0x130-0x13f) */
	MA_KEY_EVERY,
	MA_KEY_KEEP,
	MA_KEY_DUMP_COUNT,
	MA_KEY_CONNECT = 0x170,       /* py's: live --connect */
};

struct ma_cli_opt {
	const char *name;        /* long name, without "--" */
	char letter;             /* short option, 0: none */
	int key;                 /* what getopt_long returns */
	const char *arg;         /* the value's name ("TIME"), NULL: no value */
	const char *help;        /* lines separated by '\n' */
};

struct ma_cli_cmd {
	const char *name;        /* "attach" (no word: memattach --pid), "run", "report"... */
	const char *synopsis;    /* after "memattach ", lines separated by '\n' */
	const char *what;        /* a paragraph for --help and the man page */
	const struct ma_cli_opt *opts;   /* ends with a NULL name */
	int in_order;            /* stop at the first non-option (run's CMD) */
};

extern const struct ma_cli_cmd ma_cli_attach, ma_cli_run, ma_cli_report, ma_cli_symbolize, ma_cli_live;
extern const struct ma_cli_cmd ma_cli_receive;   /* hidden: the Python package's */

/* getopt_long over the command's options (optind must be set by the
 * caller).  Returns getopt_long's value; '?' after its message. */
int ma_cli_getopt(const struct ma_cli_cmd *c, int argc, char **argv);
/* "memattach report: ..." style prefix for c's messages. */
const char *ma_cli_prefix(const struct ma_cli_cmd *c);

/* The command's --help; `memattach --help` is ma_cli_help_all. */
void ma_cli_help(FILE *f, const struct ma_cli_cmd *c);
void ma_cli_help_all(FILE *f);
/* The usage lines alone (after a usage error). */
void ma_cli_usage(FILE *f, const struct ma_cli_cmd *c);
/* The man page, roff (memattach.1 is this output). */
void ma_cli_man(FILE *f);

#endif

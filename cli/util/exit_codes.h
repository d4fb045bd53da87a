/* exit_codes.h — memattach's exit codes: a public, documented interface
 * (README "Exit codes").  `memattach run` exits with CMD's own status. */
#ifndef MEMATTACH_EXIT_CODES_H
#define MEMATTACH_EXIT_CODES_H

enum ma_exit {
	MA_EXIT_OK = 0,
	MA_EXIT_ERROR = 1,            /* internal error, out of memory */
	MA_EXIT_USAGE = 2,            /* bad option, bad size or duration */
	MA_EXIT_BAD_CAPTURE = 3,      /* capture unreadable, corrupt, newer format */
	MA_EXIT_OUTPUT = 4,           /* output path unwritable, disk full */
	MA_EXIT_NO_PROCESS = 5,       /* no such process */
	MA_EXIT_NOT_PERMITTED = 6,    /* ptrace not permitted */
	MA_EXIT_STATIC = 7,           /* static binary / no dynamic loader */
	MA_EXIT_ZOMBIE = 8,           /* target is a zombie */
	MA_EXIT_KERNEL_THREAD = 9,    /* target is a kernel thread */
	MA_EXIT_SELF = 10,            /* target is memattach itself */
	MA_EXIT_NO_AGENT = 11,        /* agent library not found */
	MA_EXIT_BUSY = 12,            /* another memattach tracks the target */
	MA_EXIT_TARGET_GONE = 13,     /* target exited mid-capture (capture valid) */
	MA_EXIT_THRESHOLD_NOT_REACHED = 14,
	MA_EXIT_INJECT_FAILED = 15,   /* no safe point found, remote call failed */
	MA_EXIT_AGENT_FAILED = 16,    /* the agent did not connect or failed */
	MA_EXIT_STOPPED = 17,         /* target is stopped (SIGSTOP, Ctrl-Z) */
	MA_EXIT_OUTPUT_IS_INPUT = 18, /* report -o names the capture it reads */
	MA_EXIT_NO_JSON = 19,         /* report --json for a format that has none */
	MA_EXIT_DAMAGED = 20,         /* report made, but damaged parts of the capture were skipped */
	MA_EXIT_NOT_A_TERMINAL = 21,  /* live: standard output is not a terminal */
	MA_EXIT_TARGET_LIMIT = 22,    /* the target could not give the attach a page or a thread */
};

#endif

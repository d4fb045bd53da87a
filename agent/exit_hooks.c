/* exit_hooks.c — _exit and _Exit called by the program end the session
 * first.  exit() runs the agent's destructor, which sends the last
 * batches and the trailer; _exit runs nothing, so a process ending with
 * it (dash, Python's os._exit, the children of many forking servers)
 * left a capture without its last events and marked incomplete. */
#include "agent_internal.h"

typedef void (*exit_fn)(int);

/* resolved by hooks.c */
void *ma_real__exit, *ma_real__Exit;

void ma_h__exit(int status)
{
	ma_writer_stop_at_exit();
	((exit_fn)ma_real__exit)(status);
	__builtin_unreachable();
}

void ma_h__Exit(int status)
{
	ma_writer_stop_at_exit();
	((exit_fn)ma_real__Exit)(status);
	__builtin_unreachable();
}

/* run_follow.c — `memattach run --follow-fork`: CMD and every process it
 * and its children fork (or start and exec), each into its own capture
 * (CMD's is CAP, the others CAP.<pid>), until the whole tree is gone.
 * memattach is the tree's subreaper, so that it sees the end of processes
 * whose parent exited first, and only processes of the tree connect. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include "cli/cmd/follow_loop.h"
#include "cli/cmd/run_follow.h"
#include "cli/util/exit_codes.h"

int ma_run_follow_prepare(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
		perror("memattach: prctl(PR_SET_CHILD_SUBREAPER)");
		return -1;
	}
	return 0;
}

static int cmd_status(const struct ma_follow *f)
{
	if (f->rc != MA_EXIT_OK)
		return f->rc;
	if (WIFEXITED(f->run_status))
		return WEXITSTATUS(f->run_status);
	if (WIFSIGNALED(f->run_status))
		return 128 + WTERMSIG(f->run_status);
	return MA_EXIT_ERROR;
}

int ma_run_follow(struct ma_session *s, pid_t pid, const char *out, int quiet,
		  volatile sig_atomic_t *stop_signal)
{
	struct ma_follow f;
	memset(&f, 0, sizeof(f));
	f.follow = 1;
	f.base_out = out;
	f.stop_signal = stop_signal;
	f.quiet = quiet;
	f.run_pid = pid;
	f.rc = MA_EXIT_OK;
	if (!ma_follow_add(&f, s, pid, out, 1)) {
		fprintf(stderr, "memattach: out of memory\n");
		return MA_EXIT_ERROR;
	}
	ma_follow_run(&f);
	ma_follow_stop_all(&f);   /* a signal after CMD's end: what is left */
	if (!f.p[0]->ever_connected)
		fprintf(stderr, "memattach: the agent never started in pid %d (a statically linked program, or one that ignores LD_PRELOAD?)\n",
			(int)pid);
	ma_follow_finish(&f);
	return cmd_status(&f);
}

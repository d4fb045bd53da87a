/* fork_follow.c — what a fork() of a tracked process does to the agent.
 *
 * Untracked forks (the default): the child's GOT still leads to the hooks,
 * which pass straight through — it forgets the session and stays inert;
 * the parent counts the fork (Tick.forks), so that memattach can say how
 * many children it did not track.
 *
 * Followed forks (configuration follow=1: run --follow-fork, --pid
 * --follow-fork): the child starts a session of its own, with the
 * parent's configuration, on the socket the parent used, before fork()
 * returns in it — so every allocation the child makes is seen.  Its
 * capture starts empty: the blocks it inherited are not its own
 * allocations (freeing one is an untracked free), so its leaked_bytes are
 * exactly what it allocated and kept.  The parent's locks are taken
 * around the fork so that the child finds none held by a thread that no
 * longer exists there, and no list half-changed. */
#include <pthread.h>
#include "agent_internal.h"
#include "python/py_agent.h"

atomic_ulong ma_forks;
static int installed;
static int locked;          /* the forking thread holds every lock */
static int dl_locked;       /* it holds the dl lock (dl_lock.c) */
static uint32_t fork_tid;   /* its tid in the parent */

static void lock_all(int take)
{
	if (take) {
		ma_got_fork_lock(1);
		ma_modules_fork_lock(1);
		ma_warnings_fork_lock(1);
		ma_buffers_fork_lock(1);
		ma_stacks_fork_lock(1);
		ma_arena_fork_lock(1);
	} else {
		ma_arena_fork_lock(0);
		ma_stacks_fork_lock(0);
		ma_buffers_fork_lock(0);
		ma_warnings_fork_lock(0);
		ma_modules_fork_lock(0);
		ma_got_fork_lock(0);
	}
}

static void before_fork(void)
{
	if (!atomic_load(&ma_tracking))
		return;
	if (ma_cfg.follow) {
		ma_tls.guard++;
		lock_all(1);
		locked = 1;
		fork_tid = (uint32_t)ma_gettid();
	}
	/* Last: a walk of ours may hold one of the locks above. */
	ma_dl_fork_lock(1);
	dl_locked = 1;
}

static void in_parent(void)
{
	if (dl_locked) {
		dl_locked = 0;
		ma_dl_fork_lock(0);
	}
	if (atomic_load(&ma_tracking))
		atomic_fetch_add(&ma_forks, 1);
	if (!locked)
		return;
	locked = 0;
	lock_all(0);
	ma_tls.guard--;
}

static void in_child(void)
{
	int follow = locked;
	if (dl_locked) {
		dl_locked = 0;
		ma_dl_reset_in_child();
	}
	ma_agent_forget_in_child();
	atomic_store(&ma_forks, 0);
	ma_shell_env_in_child();   /* before exec_env.c looks at environ */
	if (!follow)
		return;
	ma_buffers_forget_in_child();
	ma_py_threads_off_in_child(fork_tid);
	locked = 0;
	lock_all(0);
	/* A CLI that is gone (or refuses) leaves the child inert, as an
	 * untracked one.  A program it execs is followed (exec_env.c). */
	ma_exec_env_in_child();
	if (ma_agent_start_in_child() < 0)
		ma_exec_env_drop();
	ma_tls.guard--;
}

void ma_fork_handlers_install(void)
{
	if (installed)
		return;
	installed = 1;
	pthread_atfork(before_fork, in_parent, in_child);
}

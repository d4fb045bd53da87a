/* dl_lock.c — the agent's walks of the loader's list, and forks.
 *
 * glibc (2.36) does not reset the loader's list lock (dl_load_write_lock,
 * held by dl_iterate_phdr) in a forked child: a fork while another thread
 * of ours walked the list left it held for good there, and the child's next
 * walk waited forever — ours, starting a followed child's session (seen
 * once in about 46 runs of follow-fork.sh: a worker of prefork --threads
 * asleep in dl_iterate_phdr under its fork handler), or the program's own
 * (a C++ exception, a dlopen).  A walk of the program's own at the fork is
 * the program's hazard, untracked too; ours can no longer be one. */
#include <link.h>
#include <pthread.h>
#include "agent_internal.h"

static pthread_rwlock_t dl_lock = PTHREAD_RWLOCK_INITIALIZER;

int ma_dl_iterate(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
	pthread_rwlock_rdlock(&dl_lock);
	int r = dl_iterate_phdr(cb, data);
	pthread_rwlock_unlock(&dl_lock);
	return r;
}

void ma_dl_read_lock(int take)
{
	if (take)
		pthread_rwlock_rdlock(&dl_lock);
	else
		pthread_rwlock_unlock(&dl_lock);
}

void ma_dl_fork_lock(int take)
{
	if (take)
		pthread_rwlock_wrlock(&dl_lock);
	else
		pthread_rwlock_unlock(&dl_lock);
}

/* The forking thread's write lock names its parent tid, which an unlock
 * in the child would not match: the child starts with a new lock. */
void ma_dl_reset_in_child(void)
{
	pthread_rwlock_init(&dl_lock, NULL);
}


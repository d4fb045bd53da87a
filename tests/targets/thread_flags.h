/* thread_flags.h — one-way flags between a target's threads: set once,
 * waited for by any number (a mutex and a condition variable, no spin). */
#ifndef MA_THREAD_FLAGS_H
#define MA_THREAD_FLAGS_H
#include <pthread.h>

static pthread_mutex_t flags_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flags_cond = PTHREAD_COND_INITIALIZER;

static inline void wait_for(int *flag)
{
	pthread_mutex_lock(&flags_lock);
	while (!*flag)
		pthread_cond_wait(&flags_cond, &flags_lock);
	pthread_mutex_unlock(&flags_lock);
}

static inline void set(int *flag)
{
	pthread_mutex_lock(&flags_lock);
	*flag = 1;
	pthread_cond_broadcast(&flags_cond);
	pthread_mutex_unlock(&flags_lock);
}
#endif

/* arena.c — the agent's own memory: anonymous mappings made with the raw
 * syscall, so nothing here is ever seen by (or recursed into) the hooks. */
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "agent_internal.h"

#define ARENA_CHUNK (1u << 20)

static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static char *arena_cur, *arena_end;

void *ma_pages_alloc(size_t size)
{
	long r = syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r < 0 && r > -4096)
		return NULL;
	return (void *)r;
}

void ma_pages_free(void *p, size_t size)
{
	if (p)
		syscall(SYS_munmap, p, size);
}

void *ma_arena_alloc(size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (size >= ARENA_CHUNK / 4)
		return ma_pages_alloc(size);
	pthread_mutex_lock(&arena_lock);
	if ((size_t)(arena_end - arena_cur) < size) {
		char *c = ma_pages_alloc(ARENA_CHUNK);
		if (!c) {
			pthread_mutex_unlock(&arena_lock);
			return NULL;
		}
		arena_cur = c;
		arena_end = c + ARENA_CHUNK;
	}
	void *p = arena_cur;
	arena_cur += size;
	pthread_mutex_unlock(&arena_lock);
	return p;
}

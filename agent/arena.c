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

/* A scratch arena: memory for one session's bookkeeping, handed out again
 * from the start by the next session (reset), so that attach after attach
 * the agent does not grow.  Chunks are never unmapped (a reset arena's
 * memory is the same memory next time); release gives their pages back. */
struct ma_scratch_chunk {
	struct ma_scratch_chunk *next;
	size_t size;
};

#define SCRATCH_CHUNK (64u << 10)
#define SCRATCH_HEAD ((sizeof(struct ma_scratch_chunk) + 15) & ~(size_t)15)

void *ma_scratch_alloc(struct ma_scratch *s, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	for (;;) {
		struct ma_scratch_chunk *c = s->cur;
		if (c && s->off + size <= c->size) {
			void *p = (char *)c + s->off;
			s->off += size;
			memset(p, 0, size);
			return p;
		}
		if (c && c->next) {       /* the next chunk of an earlier session */
			s->cur = c->next;
			s->off = SCRATCH_HEAD;
			continue;
		}
		size_t want = size + SCRATCH_HEAD > SCRATCH_CHUNK ? size + SCRATCH_HEAD : SCRATCH_CHUNK;
		struct ma_scratch_chunk *n = ma_pages_alloc(want);
		if (!n)
			return NULL;
		n->size = want;
		if (c)
			c->next = n;
		else
			s->head = n;
		s->cur = n;
		s->off = SCRATCH_HEAD;
	}
}

void ma_scratch_reset(struct ma_scratch *s)
{
	s->cur = s->head;
	s->off = SCRATCH_HEAD;
}

/* A reset whose pages go back to the kernel: the chunks stay mapped (a
 * stale pointer into them reads zeros or old data, never faults). */
void ma_scratch_release(struct ma_scratch *s)
{
	size_t page = (size_t)getpagesize();
	for (struct ma_scratch_chunk *c = s->head; c; c = c->next)
		if (c->size > page)   /* all but the page with the header */
			madvise((char *)c + page, c->size - page, MADV_DONTNEED);
	ma_scratch_reset(s);
}

/* fork_follow.c: held around a followed fork. */
void ma_arena_fork_lock(int take)
{
	if (take)
		pthread_mutex_lock(&arena_lock);
	else
		pthread_mutex_unlock(&arena_lock);
}

/* threads.c — 4 threads in a ring: each allocates batches of blocks and
 * hands them to the next thread, which frees them (cross-thread frees),
 * and each churns a small local set of same-size blocks (address reuse).
 *
 * Peak exactness: while the threads run, live bytes stay below
 * THREAD_LIVE_MAX (bounded queues, bounded local sets); the peak is the
 * single-threaded burst after the join, which is larger than that. */
#include <pthread.h>
#include "keep.h"

T_DEFINE_TRUTH;

#define NTHREADS 4
#define ROUNDS 6000
#define BATCH 8
#define QCAP 256          /* blocks; a queue never holds more than ~4 batches */
#define LOCAL 32
#define MAXSZ 4000
/* Queues (4 * QCAP) + local sets (4 * LOCAL) + batches in hand (4 * BATCH). */
#define THREAD_LIVE_MAX ((uint64_t)NTHREADS * (QCAP + LOCAL + BATCH) * MAXSZ)
#define BURST_BLOCKS 80
#define BURST_SIZE (64 * 1024)

struct item { void *p; size_t n; };

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct item it[QCAP];
	unsigned head, len;
};

static struct queue q[NTHREADS];
static const size_t sizes[] = { 16, 24, 32, 48, 64, 100, 256, 1000, MAXSZ };
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void push(struct queue *qu, const struct item *v, unsigned k)
{
	pthread_mutex_lock(&qu->mu);
	while (qu->len + k > QCAP)
		pthread_cond_wait(&qu->cv, &qu->mu);
	for (unsigned i = 0; i < k; i++)
		qu->it[(qu->head + qu->len++) % QCAP] = v[i];
	pthread_cond_broadcast(&qu->cv);
	pthread_mutex_unlock(&qu->mu);
}

static void pop(struct queue *qu, struct item *v, unsigned k)
{
	pthread_mutex_lock(&qu->mu);
	while (qu->len < k)
		pthread_cond_wait(&qu->cv, &qu->mu);
	for (unsigned i = 0; i < k; i++) {
		v[i] = qu->it[qu->head];
		qu->head = (qu->head + 1) % QCAP;
		qu->len--;
	}
	pthread_cond_broadcast(&qu->cv);
	pthread_mutex_unlock(&qu->mu);
}

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t rng = 0x1234567ull * (me + 1);
	struct item local[LOCAL] = { { 0, 0 } };
	struct item b[BATCH];

	for (int r = 0; r < ROUNDS; r++) {
		for (unsigned i = 0; i < BATCH; i++) {
			b[i].n = sizes[t_rand(&rng) % NSIZES];
			b[i].p = t_counted_malloc(b[i].n);
		}
		push(&q[(me + 1) % NTHREADS], b, BATCH);
		pop(&q[me], b, BATCH);
		for (unsigned i = 0; i < BATCH; i++)
			t_counted_free(b[i].p, b[i].n);
		/* Same sizes freed and taken again: the allocator hands the
		 * same addresses back over and over. */
		for (int k = 0; k < 8; k++) {
			unsigned s = (unsigned)(t_rand(&rng) % LOCAL);
			if (local[s].p) {
				t_counted_free(local[s].p, local[s].n);
				local[s].p = NULL;
			} else {
				local[s].n = sizes[s % NSIZES];
				local[s].p = t_counted_malloc(local[s].n);
			}
		}
	}
	/* Half of the local set leaks, the other half is freed. */
	for (unsigned s = 0; s < LOCAL; s++)
		if (local[s].p && s % 2 == 0)
			t_counted_free(local[s].p, local[s].n);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	static void *burst[BURST_BLOCKS];

	_Static_assert((uint64_t)BURST_BLOCKS * BURST_SIZE > THREAD_LIVE_MAX,
		       "the burst must be the peak");
	t_init(argc, argv);
	for (int i = 0; i < NTHREADS; i++) {
		pthread_mutex_init(&q[i].mu, NULL);
		pthread_cond_init(&q[i].cv, NULL);
	}
	t_begin();
	for (unsigned i = 0; i < NTHREADS; i++) {
		errno = pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
		if (errno)
			t_die("pthread_create");
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	for (int i = 0; i < BURST_BLOCKS; i++)
		burst[i] = t_counted_malloc(BURST_SIZE);
	for (int i = 0; i < BURST_BLOCKS; i++)
		t_counted_free(burst[i], BURST_SIZE);
	return t_end();
}

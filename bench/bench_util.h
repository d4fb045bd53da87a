/* bench_util.h — what the benchmark workloads share: the random numbers
 * that pick their sizes and stacks (mabench.c, neutral.c,
 * report_workload.c), and for the two that print one result line
 * (mabench.c, neutral.c), running the threads and measuring the process.
 * Header-only (static inline): the workloads' own functions compile to
 * the same code as before.  (maloop.c keeps its own copy of the random
 * numbers: through this header its leaf compiled differently.) */
#ifndef MEMATTACH_BENCH_UTIL_H
#define MEMATTACH_BENCH_UTIL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* xorshift64: fast, and the same sequence for a seed on every run. */
static inline uint64_t bench_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Runs worker once per context (n of size bytes each at ctxs) on threads of
 * its own, and waits for them all; -1 when a thread could not start. */
static inline int bench_threads(void *ctxs, int n, size_t size, void *(*worker)(void *))
{
	pthread_t *th = calloc((size_t)n, sizeof *th);
	if (!th)
		return -1;
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[i], NULL, worker, (char *)ctxs + (size_t)i * size) != 0)
			return -1;
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	return 0;
}

static inline long vm_hwm_kb(void)
{
	char buf[4096];
	FILE *f = fopen("/proc/self/status", "r");
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(buf, sizeof buf, f))
		if (strncmp(buf, "VmHWM:", 6) == 0)
			kb = strtol(buf + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* CPU of the whole process, every thread's. */
static inline long cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}

/* The one line bench/neutral.sh reads: "NAME events N hwm_kb K cpu_ms C". */
static inline void bench_result(const char *name, long events)
{
	printf("%s events %ld hwm_kb %ld cpu_ms %ld\n", name, events, vm_hwm_kb(), cpu_ms());
}
#endif

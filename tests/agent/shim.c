/* shim.c — the agent's globals that its parts under test read (in the
 * agent they live in agent.c, which starts sessions and is not linked
 * here). */
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "agent_internal.h"

/* Back-pressure waits (a minute) rather than drop events: the tests
 * check that none is lost, on machines too loaded for the 100 ms default. */
struct ma_config ma_cfg = { .depth = 64, .stall_ns = 60000000000ull };
atomic_int ma_tracking;
struct ma_line ma_seq_line;
struct ma_line ma_clock_line;
uint64_t ma_start_ns;
__thread struct ma_tls ma_tls __attribute__((tls_model("initial-exec")));

uint64_t ma_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

pid_t ma_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

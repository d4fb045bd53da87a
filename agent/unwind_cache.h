/* unwind_cache.h — native stacks at a cost that follows the frames that
 * changed (unwind_cache.c), from unwind rules compiled out of .eh_frame
 * (eh_rules.c), libunwind kept for everything else. */
#ifndef MA_UNWIND_CACHE_H
#define MA_UNWIND_CACHE_H
#include <stdint.h>

struct ma_eh_rule {
	int32_t cfa_off;      /* CFA = (cfa_rbp ? rbp : rsp) + cfa_off */
	int16_t rbp_off;      /* the caller's rbp at CFA + rbp_off when rbp_saved */
	uint8_t cfa_rbp;
	uint8_t rbp_saved;
	uint8_t end;          /* return address undefined: the outermost frame */
};

/* The rule at code address pc; -1 when there is none or it is unusual. */
int ma_eh_rule(uintptr_t pc, struct ma_eh_rule *r);

/* Where a walk ends early: after the first frame whose return address
 * is in (lo, hi] (Python's eval loop, past which the Python frames tell
 * the stack).  A thread's kept walks are joined only by walks with the
 * same stop.  lo == hi: none. */
struct ma_unwind_stop {
	uintptr_t lo, hi;
};

static inline int ma_unwind_stop_at(uintptr_t lo, uintptr_t hi, uintptr_t ip)
{
	return ip - lo - 1 < hi - lo;   /* lo < ip <= hi, in one comparison */
}

/* The calling thread's native stack, innermost first, without the
 * agent's own leading frames and at most max frames: exactly what
 * unw_backtrace gives once those are dropped.  *frames points into the
 * thread's cache (valid until its next call); returns the count, -1 when
 * the fast walk could not be used (call unw_backtrace).  It ends early
 * at the stop, when one is given (NULL: none). *same: the same
 * frames as the thread's previous call.  lazy: *frames may be NULL when
 * *same (a known stack id needs no frames); ma_unwind_frames() then gives
 * them, until the thread's next call. */
int ma_unwind_user(const uint64_t **frames, int max, uintptr_t agent_lo, uintptr_t agent_hi,
		   int *same, uintptr_t hook_fp, int lazy, const struct ma_unwind_stop *stop);
const uint64_t *ma_unwind_frames(void);
/* ma_hash_stack_sum() of the last call's frames, from the sums it keeps. */
uint64_t ma_unwind_hash_sum(void);
/* The stack id of the previous call's frames (0: none), and setting it.
 * The tag says what else the stack holds (stack_table.c: 0 for the native
 * frames alone, else the Python frames merged in); an id is given only
 * for the tag it was set with. */
uint32_t ma_unwind_last_id(uint64_t tag);
void ma_unwind_set_last_id(uint32_t id, uint64_t tag);
/* A recycled thread record's last walk is forgotten. */
void ma_unwind_thread_reset(void *unwind);
/* Cached rules and walks are forgotten (objects unloaded, stacks released). */
void ma_unwind_forget(void);
/* MEMATTACH_TEST_UNWIND_CHECK: every fast walk is compared with
 * libunwind's (stack_table.c); counts reported as a warning at the end. */
extern int ma_unwind_check;
#endif

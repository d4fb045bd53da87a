/* arch.h — what the injector needs to know about one architecture:
 * registers, calling convention, how a call returns to us, syscall restart.
 * One implementation file per architecture (arch_x86_64.c). */
#ifndef MEMATTACH_INJ_ARCH_H
#define MEMATTACH_INJ_ARCH_H

#include <stddef.h>
#include <sys/types.h>

#define MA_ARCH_MAX_ARGS 6

struct ma_arch_state;   /* all user registers of a thread, FP/vector included */

struct ma_arch_state *ma_arch_state_new(void);
void ma_arch_state_free(struct ma_arch_state *s);
void ma_arch_state_copy(struct ma_arch_state *dst, const struct ma_arch_state *src);

/* Read / write every register of a ptrace-stopped thread. -1 + errno. */
int ma_arch_get(pid_t tid, struct ma_arch_state *s);
int ma_arch_set(pid_t tid, const struct ma_arch_state *s);
/* General registers only (cheap; enough while FP state is untouched). */
int ma_arch_get_gp(pid_t tid, struct ma_arch_state *s);
int ma_arch_set_gp(pid_t tid, const struct ma_arch_state *s);

unsigned long ma_arch_pc(const struct ma_arch_state *s);
unsigned long ma_arch_sp(const struct ma_arch_state *s);
unsigned long ma_arch_retval(const struct ma_arch_state *s);

/* Bytes below sp that the ABI lets the thread use without moving sp. */
unsigned long ma_arch_redzone(void);

/* Set up s for a call of func(args) with the stack free below stack_top
 * (stack_top must lie below the red zone).  The return address must make the
 * thread fault at pc 0: *ret_slot/ret_slot_len receive where the arch wants a
 * zero word written (ret_slot_len 0 when the return address is a register). */
int ma_arch_setup_call(struct ma_arch_state *s, unsigned long func,
		       const unsigned long *args, int nargs, unsigned long stack_top,
		       unsigned long *ret_slot, size_t *ret_slot_len);

/* 1 when the thread is stopped at our return trap (pc 0). */
int ma_arch_at_return_trap(const struct ma_arch_state *s);

/* Syscall state at the stop: nr >= 0 when the thread was in (or just left)
 * a syscall, with its return register in *ret. */
long ma_arch_syscall_nr(const struct ma_arch_state *s, long *ret);

/* 1 when ret is one of the kernel's internal "restart me" codes. */
int ma_arch_is_restart(long ret);

/* Forget the interrupted syscall so that the kernel won't restart it into
 * our call. */
void ma_arch_forget_syscall(struct ma_arch_state *s);

/* Rewrites s, a state to resume for good from a stop that is NOT a
 * signal-delivery-stop, so that an interrupted syscall is re-executed
 * (pc back over the syscall instruction, syscall number back in place). */
void ma_arch_restart_syscall(struct ma_arch_state *s);

/* Syscalls that a ptrace stop interrupts with EINTR rather than a restart
 * code (epoll_wait & co): turn that EINTR into "restart unless a handler ran",
 * which is what the program would have seen without us. */
void ma_arch_eintr_to_restart(struct ma_arch_state *s);

#endif

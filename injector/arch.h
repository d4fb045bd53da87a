/* arch.h — what the injector needs to know about one architecture:
 * registers, calling convention, syscall restart, and the pieces of the
 * tracer-independent return (a signal frame, the restorer's code, a stub).
 * One implementation file per architecture (arch_<cpu>.c, chosen by
 * configure). */
#ifndef MEMATTACH_INJ_ARCH_H
#define MEMATTACH_INJ_ARCH_H

#include <stddef.h>
#include <stdint.h>
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

/* The thread pointer (the TLS base) of a stopped thread's state. */
unsigned long ma_arch_tp(const struct ma_arch_state *s);
/* code (len bytes, at code_addr in the target) is libc's __errno_location:
 * when it loads errno's offset from the thread pointer out of a GOT slot
 * and adds the thread pointer, *slot gets that slot's address and 0 is
 * returned; -1 for any other code. */
int ma_arch_errno_slot(const unsigned char *code, size_t len, unsigned long code_addr,
		       unsigned long *slot);

/* Set up s for a call of func(args) whose return address is the word at
 * frame (frame must be aligned as a call leaves the stack: see
 * ma_arch_sigframe, which provides it). */
int ma_arch_setup_call(struct ma_arch_state *s, unsigned long func,
		       const unsigned long *args, int nargs, unsigned long frame);

/* Rewrites s, a state to resume for good from a stop that is NOT a
 * signal-delivery-stop, so that an interrupted syscall is re-executed
 * (pc back over the syscall instruction, syscall number back in place)
 * and no syscall is pending (safe at a syscall-entry stop too). */
void ma_arch_restart_syscall(struct ma_arch_state *s);

/* Syscalls that a ptrace stop interrupts with EINTR rather than a restart
 * code (epoll_wait & co): turn that EINTR into "restart unless a handler ran",
 * which is what the program would have seen without us. */
void ma_arch_eintr_to_restart(struct ma_arch_state *s);

/* The kernel's rt_sigreturn frame that puts the thread back in state
 * resume with signal mask mask, laid out just below top (exclusive) in
 * the target: writes its bytes to buf (size bytes at most), returns their
 * count (0 when buf is too small); *frame receives its address, where the
 * return address of a call goes (ret is stored there). */
size_t ma_arch_sigframe(const struct ma_arch_state *resume, uint64_t mask,
			unsigned long top, unsigned long ret, void *buf, size_t size,
			unsigned long *frame);

/* The code of libc's signal restorer (rt_sigreturn), to find in its text;
 * the syscall stop it makes has pc = its address + *len. */
const unsigned char *ma_arch_restorer_code(size_t *len);

/* Writes to buf the stub a call returns into: it keeps the return value,
 * sends signal sig to its own thread of process pid (a signal-delivery-stop
 * when traced, nothing when not), then rt_sigreturns through the frame.
 * Returns its length; *stop_off is the pc offset of the signal stop. */
size_t ma_arch_stub(unsigned char *buf, size_t size, pid_t pid, int sig, size_t *stop_off);
/* The call's return value, at the stub's signal stop. */
unsigned long ma_arch_stub_result(const struct ma_arch_state *s);

/* Writes to buf the start routine of the loader thread (load_thread.c),
 * position-independent, for the stub's page: given a struct ma_load_block,
 * it detaches itself, dlopens, dlsyms, calls the entry, publishes the
 * outcome in the block, waits (5 s at most) for the injector's ack, unmaps
 * the block and returns.  Returns its length, 0 when buf is too small. */
size_t ma_arch_load_thread(unsigned char *buf, size_t size);

#endif

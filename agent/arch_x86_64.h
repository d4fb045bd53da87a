/* arch_x86_64.h — the agent's x86-64 facts in one place; configure picks
 * agent/arch_<cpu>.h for the host (MA_AGENT_ARCH_H in config.h), as it
 * picks the injector's arch_<cpu>.c. */
#ifndef MEMATTACH_AGENT_ARCH_H
#define MEMATTACH_AGENT_ARCH_H

#include <cpuid.h>
#include <elf.h>
#include <stdatomic.h>

/* The batch handshake (event_buffer.c) needs a store to be visible before
 * the loads that follow a locked read-modify-write (the seq's fetch_add).
 * x86-64 orders a store before a later locked instruction, so only the
 * compiler must be kept from moving the store past it; a weaker CPU needs
 * a real fence (atomic_thread_fence) here. */
#define MA_FENCE_STORE_LOCKED() atomic_signal_fence(memory_order_seq_cst)

/* Whether the CPU has PREFETCHW (CPUID 0x80000001 ECX bit 8, "3dnowprefetch"):
 * a CPU without it may fault on the instruction. */
static inline int ma_cpu_has_prefetch_write(void)
{
	unsigned a, b, c, d;
	return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & bit_PRFCHW);
}

/* Asks for p's cache line in the exclusive state, ahead of a store to it:
 * only where ma_cpu_has_prefetch_write() said yes. */
static inline void ma_prefetch_write(const void *p)
{
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
}

/* A spin-wait hint to the CPU. */
#define MA_CPU_PAUSE() __builtin_ia32_pause()

/* The relocations that put a function's address into a GOT slot. */
#define MA_R_JUMP_SLOT R_X86_64_JUMP_SLOT
#define MA_R_GLOB_DAT R_X86_64_GLOB_DAT

/* User addresses lie below 2^47 (4-level paging; with 5 levels the kernel
 * maps above only on request). */
#define MA_USER_ADDR_END (1ull << 47)

#endif

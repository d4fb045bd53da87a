// unwind_shapes — allocations from stacks of every shape the agent's fast
// unwinder (agent/unwind_cache.c) must get exactly as libunwind does,
// built without frame pointers: recursive chains of changing depth,
// frames with alloca of changing size (same code, same stack pointer,
// another CFA), C++ exceptions (allocations in destructors while the
// stack unwinds, and in the handler), signal handlers (on the thread's
// stack and on an alternate one), longjmp out of a deep chain,
// makecontext/swapcontext coroutines (their stacks freed and made again
// at other depths) and threads.  Counts its own allocations (truth.h).
#include <alloca.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>
#include "keep.h"

T_DEFINE_TRUTH;

// Kept as frames of their own (noinline).
static __attribute__((noinline)) void *m(size_t n)
{
	return t_counted_malloc(n);
}

static __attribute__((noinline)) void f(void *p, size_t n)
{
	t_counted_free(p, n);
}

// An allocation at the bottom of a chain of depth d (freed at once),
// from one of two call sites: stacks that differ in one return address.
static __attribute__((noinline)) int chain(int d, size_t n)
{
	volatile char pad[24];
	pad[0] = (char)d;
	static int flip;
	if (d <= 0 && (flip++ & 1)) {
		f(m(n), n);
	} else if (d <= 0) {
		void *p = m(n);
		__asm__ volatile("nop");   // not merged with the other call site
		f(p, n);
	}
	else
		pad[1] = (char)chain(d - 1, n + 1);
	return pad[0] + pad[23];
}

// The same, through frames whose size changes with a (alloca).
static __attribute__((noinline)) int chain_alloca(int d, unsigned a)
{
	volatile char *v = (volatile char *)alloca(16 + (a % 7) * 32);
	v[0] = (char)d;
	if (d <= 0)
		f(m(40), 40);
	else
		v[1] = (char)chain_alloca(d - 1, a * 3 + 1);
	return v[0];
}

struct Leaves {
	size_t n;
	explicit Leaves(size_t k) : n(k) {}
	~Leaves() { f(m(n), n); }   // runs while the exception unwinds
};

static __attribute__((noinline)) int thrower(int d)
{
	Leaves l(16 + (size_t)d);
	if (d <= 0)
		throw d;
	return thrower(d - 1) + 1;
}

static void exceptions(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		try {
			thrower(3 + i % 20);
		} catch (int) {
			// libstdc++ mallocs the thrown int behind its 128-byte
			// header (__cxa_allocate_exception) and frees it here.
			t_alloc(&t_truth, T_MALLOC, sizeof(int) + 128);
			t_free(&t_truth, sizeof(int) + 128);
			chain(i % 9, 24);
		}
	}
}

static volatile sig_atomic_t in_handler;

static void on_usr2(int s)
{
	(void)s;
	in_handler++;
	chain(2 + in_handler % 5, 32);   // malloc from a handler: allowed here
}

static __attribute__((noinline)) int raise_at(int d)
{
	volatile char pad[40];
	pad[0] = (char)d;
	if (d <= 0) {
		chain(1, 8);
		raise(SIGUSR2);
		chain(1, 8);
	} else {
		pad[1] = (char)raise_at(d - 1);
	}
	return pad[0] + pad[39];
}

static void signals(int rounds)
{
	static char alt[1 << 16];
	stack_t ss = {};
	ss.ss_sp = alt;
	ss.ss_size = sizeof alt;
	if (sigaltstack(&ss, NULL) != 0)
		t_die("sigaltstack");
	for (int on_alt = 0; on_alt < 2; on_alt++) {
		struct sigaction sa = {};
		sa.sa_handler = on_usr2;
		sa.sa_flags = on_alt ? SA_ONSTACK : 0;
		sigaction(SIGUSR2, &sa, NULL);
		for (int i = 0; i < rounds; i++)
			raise_at(i % 11);
	}
}

static thread_local jmp_buf jb;   // one per thread: they all jump

static __attribute__((noinline)) void jump_from(int d)
{
	volatile char pad[56];
	pad[0] = (char)d;
	if (d <= 0) {
		chain(0, 48);
		longjmp(jb, 1);
	}
	jump_from(d - 1);
	pad[1] = 0;
}

static void jumps(int rounds)
{
	for (volatile int i = 0; i < rounds; i++) {
		if (setjmp(jb) == 0)
			jump_from(5 + i % 17);
		chain(i % 4, 56);   // the stack the jump left behind is stale
	}
}

static ucontext_t main_uc, co_uc;
static volatile int co_depth;

static __attribute__((noinline)) void co_chain(int d)
{
	volatile char pad[32];
	pad[0] = (char)d;
	if (d <= 0) {
		f(m(72), 72);
		swapcontext(&co_uc, &main_uc);
		f(m(80), 80);
	} else {
		co_chain(d - 1);
	}
	pad[1] = 0;
}

static void co_main(void)
{
	co_chain(co_depth);
	co_chain(co_depth + 3);
}

static void coroutines(int rounds)
{
	for (int i = 0; i < rounds; i++) {
		size_t size = 64 * 1024;
		void *stack = m(size);
		if (getcontext(&co_uc) != 0)
			t_die("getcontext");
		co_uc.uc_stack.ss_sp = stack;
		co_uc.uc_stack.ss_size = size;
		co_uc.uc_link = &main_uc;
		co_depth = 2 + i % 13;
		makecontext(&co_uc, co_main, 0);
		for (int k = 0; k < 3; k++) {   // in, out after each swap
			swapcontext(&main_uc, &co_uc);
			chain(k, 88);
		}
		f(stack, size);
	}
}

static void *thread_main(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < 300; i++) {
		chain((int)((seed + (unsigned)i * 7) % 50), 16);
		chain_alloca((int)(i % 9), seed + (unsigned)i);
	}
	jumps(50);
	exceptions(20);
	return NULL;
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	t_begin();
	for (int i = 0; i < 400; i++) {
		chain(i * 13 % 60, 8);
		chain_alloca(i % 12, (unsigned)i);
	}
	exceptions(60);
	signals(40);
	jumps(100);
	coroutines(30);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(uintptr_t)(i + 1)) != 0)
			t_die("pthread_create");
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	return t_end();
}

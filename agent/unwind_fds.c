/* unwind_fds.c — libunwind without file descriptors in the target, and
 * with its trace caches given back after a detach (see u_mmap).
 *
 * libunwind (1.6) opens a pipe when it initialises and keeps it for good:
 * to learn whether an address is readable it reads a byte from one end
 * and writes the byte at the address into the other (EFAULT: unreadable).
 * Those two descriptors would stay in the target after every detach, and
 * worse, a target that closes descriptors it does not know (a daemon's
 * close-all loop) would hand their numbers to its own files, which
 * libunwind would then read from, write into, or close.
 *
 * So libunwind's own calls to pipe2, read, close and syscall (its GOT
 * entries, nobody else's) are redirected here before it initialises: its
 * "pipe" gets two numbers no descriptor can have (above the kernel's
 * limit), reads from it find it empty, closing it does nothing, and the
 * write that validates an address becomes a process_vm_readv of our own
 * memory, which fails with EFAULT the same way.  Any other descriptor
 * passes straight through. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <libunwind.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include "agent_internal.h"
#include "elf_dyn.h"
#include MA_AGENT_ARCH_H

/* Above fs.nr_open's largest value (INT_MAX rounded down to 64): never a
 * real descriptor. */
#define FAKE_RD (INT_MAX - 1)
#define FAKE_WR (INT_MAX - 2)
#define IS_FAKE(fd) ((fd) == FAKE_RD || (fd) == FAKE_WR)

static ssize_t (*real_read)(int, void *, size_t);
static int (*real_close)(int);
static long (*real_syscall)(long, long, long, long, long, long, long);

static int u_pipe2(int fds[2], int flags)
{
	(void)flags;
	fds[0] = FAKE_RD;
	fds[1] = FAKE_WR;
	return 0;
}

static ssize_t u_read(int fd, void *buf, size_t n)
{
	if (fd == FAKE_RD) {
		errno = EAGAIN;   /* an empty non-blocking pipe */
		return -1;
	}
	return real_read(fd, buf, n);
}

static int u_close(int fd)
{
	return IS_FAKE(fd) ? 0 : real_close(fd);
}

/* 1 when the byte at addr can be read, else -1 with EFAULT (as a write of
 * it into a pipe would say). */
static long readable(const void *addr)
{
	char b;
	struct iovec local = { &b, 1 }, remote = { (void *)addr, 1 };
	ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (r == 1)
		return 1;
	if (r < 0 && errno != EFAULT) {
		/* process_vm_readv refused (a seccomp filter): access() reads
		 * the bytes as a path and says EFAULT just the same; a string
		 * running into an unreadable page is a false "unreadable". */
		if (syscall(SYS_access, addr, F_OK) == 0 || errno != EFAULT)
			return 1;
	}
	errno = EFAULT;
	return -1;
}

static long u_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	if (nr == SYS_write && a == FAKE_WR)
		return readable((const void *)b);
	return real_syscall(nr, a, b, c, d, e, f);
}

/* libunwind's per-thread trace cache (256 KiB, 4x on each growth) is
 * mapped by the thread that unwinds and unmapped when it exits.  The
 * thread's record keeps where it is, so that a detach can give its pages
 * back (ma_unwind_caches_release).  Under the threads lock when it is the
 * cache being unmapped: the release must never touch an address the
 * target got back for something else. */
#define TRACE_CACHE_MIN ((size_t)16384 * 16)   /* 2^14 slots of 16 bytes */

static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);

static int is_trace_cache_size(size_t n)
{
	for (size_t k = TRACE_CACHE_MIN; k && k <= n; k *= 4)
		if (k == n)
			return 1;
	return 0;
}

static void *u_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	void *p = real_mmap(a, n, prot, fl, fd, off);
	struct ma_thread *t = ma_tls.thr;
	if (p != MAP_FAILED && t && (fl & MAP_ANONYMOUS) && is_trace_cache_size(n)) {
		t->unw_cache = p;
		t->unw_cache_len = n;
	}
	return p;
}

static int u_munmap(void *a, size_t n)
{
	struct ma_thread *t = ma_tls.thr;
	if (!t || !a || t->unw_cache != a)
		return real_munmap(a, n);
	ma_threads_lock();
	t->unw_cache = NULL;
	t->unw_cache_len = 0;
	int r = real_munmap(a, n);
	ma_threads_unlock();
	return r;
}

/* With ma_threads_quiesce held: no thread is unwinding.  A zeroed slot
 * of the trace cache is an empty one (libunwind's lookup stops at an
 * address of 0 and fills the slot), so the cache stays valid. */
void ma_unwind_caches_release(void)
{
	for (struct ma_thread *t = ma_threads_first(); t; t = t->next)
		if (t->unw_cache)
			madvise(t->unw_cache, t->unw_cache_len, MADV_DONTNEED);
}

static const struct { const char *name; void *fn; } redirects[] = {
	{ "pipe2", (void *)u_pipe2 },
	{ "read", (void *)u_read },
	{ "close", (void *)u_close },
	{ "syscall", (void *)u_syscall },
	{ "mmap", (void *)u_mmap },
	{ "mmap64", (void *)u_mmap },
	{ "munmap", (void *)u_munmap },
};

int ma_unwind_is_redirect(const void *fn)
{
	for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
		if (redirects[i].fn == fn)
			return 1;
	return 0;
}

static void *redirect_for(const char *name)
{
	for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++)
		if (!strcmp(redirects[i].name, name))
			return redirects[i].fn;
	return NULL;
}

static void patch_relocs(uintptr_t base, const ElfW(Rela) *rel, size_t count,
			 const ElfW(Sym) *symtab, const char *strtab, uintptr_t relro_lo,
			 uintptr_t relro_hi)
{
	for (size_t i = 0; rel && i < count; i++) {
		unsigned type = ELF64_R_TYPE(rel[i].r_info);
		if (type != MA_R_JUMP_SLOT && type != MA_R_GLOB_DAT)
			continue;
		const ElfW(Sym) *sym = &symtab[ELF64_R_SYM(rel[i].r_info)];
		void *fn = sym->st_name ? redirect_for(strtab + sym->st_name) : NULL;
		if (!fn)
			continue;
		void **slot = (void **)(base + rel[i].r_offset);
		uintptr_t a = (uintptr_t)slot;
		if (a >= relro_lo && a < relro_hi) {
			uintptr_t page = a & ~(uintptr_t)(getpagesize() - 1);
			mprotect((void *)page, (size_t)getpagesize(), PROT_READ | PROT_WRITE);
			__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
			mprotect((void *)page, (size_t)getpagesize(), PROT_READ);
		} else {
			__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
		}
	}
}

/* dl_iterate_phdr: the object that holds *data (an address in libunwind). */
static int patch_libunwind(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t inside = (uintptr_t)data, relro_lo = 0, relro_hi = 0;
	const ElfW(Dyn) *dyn = NULL;
	int ours = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && inside >= lo && inside < lo + ph->p_memsz)
			ours = 1;
		else if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)lo;
		else if (ph->p_type == PT_GNU_RELRO) {
			relro_lo = lo & ~(uintptr_t)(getpagesize() - 1);
			relro_hi = (lo + ph->p_memsz) & ~(uintptr_t)(getpagesize() - 1);
		}
	}
	if (!ours || !dyn)
		return 0;
	uintptr_t base = info->dlpi_addr;
	struct ma_dyn_tables dt;
	ma_dyn_read(base, dyn, &dt);
	if (!dt.symtab || !dt.strtab)
		return 1;
	patch_relocs(base, dt.jmprel, dt.njmprel, dt.symtab, dt.strtab, relro_lo, relro_hi);
	patch_relocs(base, dt.rela, dt.nrela, dt.symtab, dt.strtab, relro_lo, relro_hi);
	return 1;
}

int ma_unwind_fds_redirect(void)
{
	static int done;
	if (done)
		return 0;
	/* The functions libunwind's calls would have reached (the global
	 * scope: an interposer the target preloads included). */
	real_read = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_DEFAULT, "read");
	real_close = (int (*)(int))dlsym(RTLD_DEFAULT, "close");
	real_syscall = (long (*)(long, long, long, long, long, long, long))dlsym(RTLD_DEFAULT, "syscall");
	real_mmap = (void *(*)(void *, size_t, int, int, int, off_t))dlsym(RTLD_DEFAULT, "mmap");
	real_munmap = (int (*)(void *, size_t))dlsym(RTLD_DEFAULT, "munmap");
	if (!real_read || !real_close || !real_syscall || !real_mmap || !real_munmap)
		return -1;
	done = 1;
	ma_dl_iterate(patch_libunwind, (void *)&unw_set_caching_policy);
	return 0;
}

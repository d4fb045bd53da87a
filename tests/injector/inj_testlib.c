/* inj_testlib.c — the library the injector tests load into their targets.
 * test_entry("FILE|TEXT") writes TEXT to FILE; it returns 1000 + the number
 * of calls so far, so a reload (counter back to 0) shows in the result. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_entry(const char *arg);

static int calls;

/* Leave garbage in every caller-saved register, the vector registers
 * (upper halves too) and MXCSR, so that a target whose registers the
 * injector fails to restore computes a wrong result. */
void test_clobber(void);
void test_clobber_avx(void);
__asm__(".text\n"
	".globl test_clobber\n"
	".type test_clobber, @function\n"
	"test_clobber:\n"
	"\tpcmpeqd %xmm0, %xmm0\n\tpcmpeqd %xmm1, %xmm1\n\tpcmpeqd %xmm2, %xmm2\n"
	"\tpcmpeqd %xmm3, %xmm3\n\tpcmpeqd %xmm4, %xmm4\n\tpcmpeqd %xmm5, %xmm5\n"
	"\tpcmpeqd %xmm6, %xmm6\n\tpcmpeqd %xmm7, %xmm7\n\tpcmpeqd %xmm8, %xmm8\n"
	"\tpcmpeqd %xmm9, %xmm9\n\tpcmpeqd %xmm10, %xmm10\n\tpcmpeqd %xmm11, %xmm11\n"
	"\tpcmpeqd %xmm12, %xmm12\n\tpcmpeqd %xmm13, %xmm13\n\tpcmpeqd %xmm14, %xmm14\n"
	"\tpcmpeqd %xmm15, %xmm15\n"
	"\tsub $8, %rsp\n\tmovl $0x7f80, (%rsp)\n\tldmxcsr (%rsp)\n\tadd $8, %rsp\n"
	"\tmov $0x5a5a5a5a5a5a5a5a, %rcx\n\tmov %rcx, %rdx\n\tmov %rcx, %rsi\n"
	"\tmov %rcx, %rdi\n\tmov %rcx, %r8\n\tmov %rcx, %r9\n\tmov %rcx, %r10\n"
	"\tmov %rcx, %r11\n\tmov %rcx, %rax\n"
	"\tret\n"
	".size test_clobber, .-test_clobber\n"
	".globl test_clobber_avx\n"
	".type test_clobber_avx, @function\n"
	"test_clobber_avx:\n"
	"\tvpcmpeqd %ymm0, %ymm0, %ymm0\n\tvpcmpeqd %ymm1, %ymm1, %ymm1\n"
	"\tvpcmpeqd %ymm2, %ymm2, %ymm2\n\tvpcmpeqd %ymm3, %ymm3, %ymm3\n"
	"\tvpcmpeqd %ymm8, %ymm8, %ymm8\n\tvpcmpeqd %ymm15, %ymm15, %ymm15\n"
	"\tret\n"
	".size test_clobber_avx, .-test_clobber_avx\n");

int test_entry(const char *arg)
{
	const char *bar;

	calls++;
	if (arg && (bar = strchr(arg, '|')) != NULL) {
		char path[4096];
		size_t n = (size_t)(bar - arg);
		int fd;

		if (n >= sizeof(path))
			return -1;
		memcpy(path, arg, n);
		path[n] = '\0';
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -2;
		if (write(fd, bar + 1, strlen(bar + 1)) != (ssize_t)strlen(bar + 1)) {
			close(fd);
			return -3;
		}
		close(fd);
	}
	if (__builtin_cpu_supports("avx"))
		test_clobber_avx();
	test_clobber();
	return 1000 + calls;
}

/* Returns the stack pointer as the callee finds it on entry, so the test
 * can check the ABI alignment (rsp % 16 == 8) of a remote call. */
__asm__(".text\n"
	".globl test_sp_on_entry\n"
	".type test_sp_on_entry, @function\n"
	"test_sp_on_entry:\n"
	"\tmov %rsp, %rax\n"
	"\tret\n"
	".size test_sp_on_entry, .-test_sp_on_entry\n");

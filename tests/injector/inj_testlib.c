/* inj_testlib.c — the library the injector tests load into their targets.
 * test_entry("FILE|TEXT") writes TEXT to FILE; it returns 1000 + the number
 * of calls so far, so a reload (counter back to 0) shows in the result. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_entry(const char *arg);

static int calls;

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

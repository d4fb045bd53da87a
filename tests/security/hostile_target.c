/* hostile_target.c — a target that lies to memattach through its own
 * modules: it loads A and B (its own libraries, in a directory it owns),
 * then puts a symlink to SECRET (a root-only ELF of A's build id) in
 * place of A's file and a FIFO in place of B's.  The Module records of a
 * genuine agent then name those paths.
 * usage: hostile_target A.so B.so SECRET — prints "ready"; on SIGUSR1
 * allocates COUNT blocks through A and through B (never freed), prints
 * "done COUNT", and waits for SIGTERM. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define COUNT 50

static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }

typedef void *(*alloc_fn)(size_t);

static alloc_fn load(const char *path)
{
	void *h = dlopen(path, RTLD_NOW);
	alloc_fn f = h ? (alloc_fn)dlsym(h, "public_alloc_fn") : NULL;
	if (!f) {
		fprintf(stderr, "hostile_target: %s\n", dlerror());
		exit(1);
	}
	return f;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: hostile_target A.so B.so SECRET\n");
		return 2;
	}
	alloc_fn a = load(argv[1]), b = load(argv[2]);
	if (unlink(argv[1]) < 0 || symlink(argv[3], argv[1]) < 0 ||
	    unlink(argv[2]) < 0 || mkfifo(argv[2], 0666) < 0) {
		perror("hostile_target: swapping its libraries");
		return 1;
	}
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	while (!go)
		pause();
	for (int i = 0; i < COUNT; i++) {
		a(100 + i);
		b(200 + i);
	}
	printf("done %d\n", COUNT);
	fflush(stdout);
	for (;;)
		pause();
}

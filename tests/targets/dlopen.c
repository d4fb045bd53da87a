/* dlopen.c — loads a library after start (argv: its path), calls it; the
 * library allocates and frees through its own GOT.  The program itself
 * allocates too, before and after.  The library is dlclose'd at the end;
 * its leaked blocks stay leaked. */
#include <dlfcn.h>
#include "truth.h"

T_DEFINE_TRUTH;

typedef int (*work_fn)(struct t_truth *, int);

static void *own[1000];

int main(int argc, char **argv)
{
	int i = t_init(argc, argv);
	if (i >= argc) {
		static const char usage[] = "usage: dlopen [--wait-signal] LIBRARY.so\n";
		if (write(2, usage, sizeof usage - 1) < 0) { /* nothing to do */ }
		return 2;
	}
	t_begin();
	for (int k = 0; k < 1000; k++) {
		own[k] = malloc(100 + (size_t)k);
		if (!own[k])
			t_die("malloc");
		t_alloc(&t_truth, T_MALLOC, 100 + (uint64_t)k);
	}
	void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		char buf[512];
		int n = snprintf(buf, sizeof buf, "dlopen: %s\n", dlerror());
		if (write(2, buf, (size_t)n) < 0) { /* nothing to do */ }
		return 97;
	}
	work_fn work = (work_fn)dlsym(h, "ma_dlib_work");
	if (!work)
		t_die("dlsym");
	if (work(&t_truth, 20000) != 0)
		t_die("library work");
	for (int k = 0; k < 1000; k += 2) {
		t_free(&t_truth, 100 + (uint64_t)k);
		free(own[k]);
	}
	dlclose(h);
	return t_end();
}

/* inj_once.c — one ma_inject_library of a library into a process, for the
 * injection fault tests (tests/integration/inject-faults.sh), which drive
 * the injector's test hooks (MEMATTACH_TEST_*_AT_STEP) through it.
 * Usage: inj_once PID LIBRARY ENTRY.  Prints "rc=N result=R" and the
 * error message; exits 0 when the entry ran, 1 when not. */
#include "config.h"
#include "injector/injector.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	struct ma_inj_error err;
	long result = 0;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: inj_once PID LIBRARY ENTRY\n");
		return 2;
	}
	rc = ma_inject_library((pid_t)atoi(argv[1]), argv[2], argv[3], NULL, &result, &err);
	printf("rc=%d result=%ld %s\n", rc, result, rc ? err.msg : "");
	return rc ? 1 : 0;
}

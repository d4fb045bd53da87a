/* flame_kind.c — what kind of code a flame graph frame is, for the page's
 * colours and its "hide" toggles: Python, native in the main executable,
 * native in a library, the Python interpreter's own C code. */
#include <string.h>

#include "cli/report/formats/flame.h"

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* libpython3.12.so.1.0, python3, python3.11, python3.12d: the interpreter. */
static int is_python_binary(const char *path)
{
	const char *b = base_name(path);
	if (!strncmp(b, "lib", 3))
		b += 3;
	return !strncmp(b, "python", 6) && (b[6] == 0 || (b[6] >= '0' && b[6] <= '9'));
}

int flame_kind(const ma_loc *l, const ma_analysis *a)
{
	if (l->python)
		return FK_PYTHON;
	if (!l->module)
		return FK_UNKNOWN;
	if (is_python_binary(l->module))
		return FK_INTERPRETER;
	if (a->executable && (!strcmp(l->module, a->executable) ||
			      !strcmp(base_name(l->module), base_name(a->executable))))
		return FK_MAIN;
	return FK_LIBRARY;
}

/* importlib's bootstrap, frozen (<frozen importlib._bootstrap>,
 * <frozen importlib._bootstrap_external>) or as a file
 * (importlib/_bootstrap.py). */
int flame_is_import(const ma_loc *l)
{
	return l->python && l->file &&
	       (strstr(l->file, "importlib._bootstrap") || strstr(l->file, "importlib/_bootstrap"));
}

/* py_capi.h — the Python C API as the thread-name readers call it
 * (py_threads.c on a helper thread of ours, py_thread_start.c in the
 * pthread_create hook), looked up once by name in the process. */
#ifndef MEMATTACH_PY_CAPI_H
#define MEMATTACH_PY_CAPI_H

#include <stddef.h>
#include "py_agent.h"

typedef struct pyobj pyobj;
struct ma_capi {
	int (*is_initialized)(void), (*is_finalizing)(void);
	void *(*this_tstate)(void), *(*current_tstate)(void);
	int (*ensure)(void);
	void (*release)(int);
	pyobj *(*str_from)(const char *);
	pyobj *(*get_module)(pyobj *);
	pyobj *(*getattr)(pyobj *, const char *);
	pyobj *(*dict_values)(pyobj *);
	long (*list_size)(pyobj *);
	pyobj *(*list_item)(pyobj *, long);
	pyobj *(*as_utf8)(pyobj *);
	char *(*bytes_data)(pyobj *);
	unsigned long (*as_ulong)(pyobj *);
	int (*str_is)(pyobj *, const char *);
	void (*fetch)(pyobj **, pyobj **, pyobj **), (*restore)(pyobj *, pyobj *, pyobj *);
	void (*err_clear)(void);
	void (*decref)(pyobj *);
	pyobj *none;
};
extern MA_HIDDEN struct ma_capi ma_capi;

/* Looks the API up the first time (any thread); 1 usable, -1 not. */
int ma_capi_resolve(void) MA_HIDDEN;

/* With the GIL: calls each(th, ctx) for the values of the dict
 * threading.<dict> (_active, _limbo) while it returns 0, if the program
 * imported threading; through a list, which holds them alive. */
void ma_capi_each_thread(const char *dict, int (*each)(pyobj *th, void *ctx), void *ctx) MA_HIDDEN;

/* With the GIL: Thread th's _name as UTF-8 into out; 0 when it has none.
 * As UTF-8 bytes of our own, not PyUnicode_AsUTF8: that would leave a
 * cached copy inside the program's str object. */
int ma_capi_thread_name(pyobj *th, char *out, size_t cap) MA_HIDDEN;

#endif

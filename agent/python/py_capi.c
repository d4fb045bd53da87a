/* py_capi.c — one lookup of the Python C API for the thread-name readers,
 * and the two reads they share: the Thread objects of a threading dict,
 * and a Thread's name.  Callers hold the GIL and guard their allocations. */
#include <dlfcn.h>
#include <string.h>
#include "py_capi.h"

struct ma_capi ma_capi;
static atomic_int state;            /* 0 unresolved, 1 usable, -1 not */

#define SYM(field, name) (*(void **)&ma_capi.field = dlsym(RTLD_DEFAULT, name))

int ma_capi_resolve(void)
{
	int st = atomic_load_explicit(&state, memory_order_acquire);
	if (st)
		return st;
	ma_capi.is_initialized = ma_py.is_initialized;
	ma_capi.is_finalizing = ma_py.is_finalizing;
	/* 3.13 renamed the unchecked getter; the old name is gone there. */
	if (!SYM(current_tstate, "PyThreadState_GetUnchecked"))
		SYM(current_tstate, "_PyThreadState_UncheckedGet");
	int ok = ma_capi.is_initialized && ma_capi.is_finalizing && ma_capi.current_tstate &&
		SYM(this_tstate, "PyGILState_GetThisThreadState") &&
		SYM(ensure, "PyGILState_Ensure") && SYM(release, "PyGILState_Release") &&
		SYM(str_from, "PyUnicode_FromString") && SYM(get_module, "PyImport_GetModule") &&
		SYM(getattr, "PyObject_GetAttrString") && SYM(dict_values, "PyDict_Values") &&
		SYM(list_size, "PyList_Size") && SYM(list_item, "PyList_GetItem") &&
		SYM(as_utf8, "PyUnicode_AsUTF8String") && SYM(bytes_data, "PyBytes_AsString") &&
		SYM(as_ulong, "PyLong_AsUnsignedLong") &&
		SYM(str_is, "PyUnicode_CompareWithASCIIString") &&
		SYM(fetch, "PyErr_Fetch") && SYM(restore, "PyErr_Restore") &&
		SYM(err_clear, "PyErr_Clear") &&
		SYM(decref, "Py_DecRef") && SYM(none, "_Py_NoneStruct");
	st = ok ? 1 : -1;
	atomic_store_explicit(&state, st, memory_order_release);
	return st;
}

void ma_capi_each_thread(const char *dict, int (*each)(pyobj *th, void *ctx), void *ctx)
{
	const struct ma_capi *api = &ma_capi;
	pyobj *mod_name = api->str_from("threading");
	pyobj *mod = mod_name ? api->get_module(mod_name) : NULL;
	pyobj *d = mod ? api->getattr(mod, dict) : NULL;
	/* A list of the Thread objects: the dict may change if anything
	 * below ever ran Python code; the list holds them alive. */
	pyobj *threads = d ? api->dict_values(d) : NULL;
	long k = threads ? api->list_size(threads) : 0;
	for (long i = 0; i < k; i++) {
		pyobj *th = api->list_item(threads, i);
		if (th && each(th, ctx))
			break;
	}
	api->decref(threads);
	api->decref(d);
	api->decref(mod);
	api->decref(mod_name);
}

int ma_capi_thread_name(pyobj *th, char *out, size_t cap)
{
	const struct ma_capi *api = &ma_capi;
	pyobj *name = api->getattr(th, "_name");
	pyobj *utf8 = name ? api->as_utf8(name) : NULL;
	const char *s = utf8 ? api->bytes_data(utf8) : NULL;
	int ok = s && *s;
	if (ok)
		ma_py_copy_name(out, s, cap);
	api->decref(utf8);
	api->decref(name);
	return ok;
}

/* Copies at most cap - 1 bytes of UTF-8, cut at a character boundary. */
void ma_py_copy_name(char *dst, const char *src, size_t cap)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = 0;
}

/* py_layout.c — finds CPython in the process and the layout of its
 * thread states, frames, code objects and strings: a generated table per
 * version (py_offsets.h) for 3.8-3.12; for 3.13 the offsets the runtime
 * publishes itself in _PyRuntime.debug_offsets (checked: cookie and
 * version), so a 3.13.x laid out differently still works (the 3.13 row of
 * the table is kept for reference).  An unsupported
 * version gets native stacks and a warning in the stream, nothing more. */
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "py_agent.h"

struct ma_py_state ma_py;
int ma_py_active;

static const struct ma_py_layout layouts[] = {
#include "py_offsets.h"
};

/* The 3.13 _Py_DebugOffsets prefix we use (fields up to unicode_object);
 * its layout is fixed for 3.13.x. */
struct dbg313 {
	char cookie[8];
	uint64_t version, free_threaded;
	uint64_t rt[3];
	uint64_t interp[13];
	struct { uint64_t size, prev, next, interp, current_frame, thread_id,
		 native_thread_id, datastack_chunk, status; } ts;
	struct { uint64_t size, previous, executable, instr_ptr, localsplus, owner; } fr;
	struct { uint64_t size, filename, name, qualname, linetable, firstlineno,
		 argcount, localsplusnames, localspluskinds, co_code_adaptive; } co;
	uint64_t pyobject[2], type_object[4], tuple_object[3], list_object[3];
	uint64_t dict_object[3], float_object[2], long_object[3];
	struct { uint64_t size, ob_size, ob_sval; } bytes;
	struct { uint64_t size, state, length, asciiobject_size; } str;
};

static int from_debug_offsets(const struct dbg313 *d, struct ma_py_layout *l)
{
	if (memcmp(d->cookie, "xdebugpy", 8) || (d->version >> 16) != 0x030D || d->free_threaded)
		return -1;
	l->major = 3;
	l->minor = 13;
	l->ts_frame = (long)d->ts.current_frame;
	l->cframe_frame = -1;
	l->ts_thread_id = (long)d->ts.thread_id;
	l->fr_previous = (long)d->fr.previous;
	l->fr_code = (long)d->fr.executable;
	l->fr_instr = (long)d->fr.instr_ptr;
	l->fr_owner = (long)d->fr.owner;
	l->fr_is_entry = -1;
	l->co_qualname = (long)d->co.qualname;
	l->co_code = (long)d->co.co_code_adaptive;
	l->co_linetable = (long)d->co.linetable;
	l->co_filename = (long)d->co.filename;
	l->co_name = (long)d->co.name;
	l->co_firstlineno = (long)d->co.firstlineno;
	l->bytes_size = (long)d->bytes.ob_size;
	l->bytes_data = (long)d->bytes.ob_sval;
	l->str_length = (long)d->str.length;
	l->str_hash = l->str_length + 8;           /* hash follows length */
	l->str_state = (long)d->str.state;
	l->str_ascii_size = (long)d->str.asciiobject_size;
	l->str_compact_size = l->str_ascii_size + 16;   /* + utf8_length, utf8 */
	return 0;
}

/* Told to every session: the version does not change. */
static void warn_unsupported(const char *version)
{
	ma_warn(1, "Python %.*s is not supported (3.8-3.13 are): native stacks only",
		(int)strcspn(version, " "), version);
}

/* The address range of the eval loop, from its dynamic symbol's size. */
static int eval_range(void)
{
	void *f = dlsym(RTLD_DEFAULT, "_PyEval_EvalFrameDefault");
	Dl_info di;
	const ElfW(Sym) *sym = NULL;
	if (!f || !dladdr1(f, &di, (void **)&sym, RTLD_DL_SYMENT) || !sym || !sym->st_size)
		return -1;
	ma_py.eval_lo = (uintptr_t)f;
	ma_py.eval_hi = (uintptr_t)f + sym->st_size;
	return 0;
}

int ma_py_present(void)
{
	return ma_py_init();
}

int ma_py_init(void)
{
	static int done;
	if (done)
		return ma_py_active;
	done = 1;
	const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
	void *runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
	if (!get_version)
		return 0;   /* not a CPython process */
	const char *v = get_version();
	char *end;
	long major = strtol(v, &end, 10), minor = *end == '.' ? strtol(end + 1, NULL, 10) : -1;
	const struct ma_py_layout *l = NULL;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].major == major && layouts[i].minor == minor)
			l = &layouts[i];
	if (major == 3 && minor >= 13) {
		struct ma_py_layout dl;
		if (runtime && from_debug_offsets(runtime, &dl) == 0) {
			ma_py.l = dl;
			l = &ma_py.l;
		} else {
			l = NULL;
		}
	}
	ma_py.get_tstate = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
	/* One call and one load, where PyGILState_GetThisThreadState is three
	 * calls and a pthread_getspecific: 3.13's name, then 3.8-3.12's. */
	ma_py.get_current = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyThreadState_GetUnchecked");
	if (!ma_py.get_current)
		ma_py.get_current = (void *(*)(void))dlsym(RTLD_DEFAULT, "_PyThreadState_UncheckedGet");
	ma_py.is_initialized = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	ma_py.is_finalizing = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsFinalizing");
	if (!ma_py.is_finalizing)
		ma_py.is_finalizing = (int (*)(void))dlsym(RTLD_DEFAULT, "_Py_IsFinalizing");
	ma_py.code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	ma_py.str_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
	ma_py.bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
	if (!l || !ma_py.get_tstate || !ma_py.is_initialized || !ma_py.is_finalizing ||
	    !ma_py.code_type || !ma_py.str_type || !ma_py.bytes_type ||
	    eval_range() < 0) {
		warn_unsupported(v);
		return 0;
	}
	if (l != &ma_py.l)
		ma_py.l = *l;
	ma_py.frames_v311 = minor >= 11;
	ma_py.lasti_units = minor == 10;
	ma_py_active = 1;
	return 1;
}

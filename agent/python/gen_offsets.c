/* gen_offsets.c — prints one row of the per-version layout table
 * (py_offsets.h) for the CPython whose headers it is compiled against.
 * Run by gen_offsets.sh; not part of the build.  Needs the internal
 * headers (Py_BUILD_CORE) because frames and the runtime are private. */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#else
#include <frameobject.h>
#endif

int main(void)
{
	printf("\t{ .major = %d, .minor = %d,\n", PY_MAJOR_VERSION, PY_MINOR_VERSION);
#if PY_VERSION_HEX >= 0x030D0000
	printf("\t  .ts_frame = %zu, .cframe_frame = -1,\n", offsetof(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030B0000
	printf("\t  .ts_frame = %zu, .cframe_frame = %zu,\n", offsetof(PyThreadState, cframe),
	       offsetof(_PyCFrame, current_frame));
#else
	printf("\t  .ts_frame = %zu, .cframe_frame = -1,\n", offsetof(PyThreadState, frame));
#endif
	printf("\t  .ts_thread_id = %zu,\n", offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
	printf("\t  .fr_previous = %zu,\n", offsetof(_PyInterpreterFrame, previous));
#if PY_VERSION_HEX >= 0x030D0000
	printf("\t  .fr_code = %zu, .fr_instr = %zu,\n", offsetof(_PyInterpreterFrame, f_executable),
	       offsetof(_PyInterpreterFrame, instr_ptr));
#else
	printf("\t  .fr_code = %zu, .fr_instr = %zu,\n", offsetof(_PyInterpreterFrame, f_code),
	       offsetof(_PyInterpreterFrame, prev_instr));
#endif
	printf("\t  .fr_owner = %zu,\n", offsetof(_PyInterpreterFrame, owner));
#if PY_VERSION_HEX < 0x030C0000
	printf("\t  .fr_is_entry = %zu,\n", offsetof(_PyInterpreterFrame, is_entry));
#else
	printf("\t  .fr_is_entry = -1,\n");
#endif
	printf("\t  .co_qualname = %zu, .co_code = %zu,\n", offsetof(PyCodeObject, co_qualname),
	       offsetof(PyCodeObject, co_code_adaptive));
	printf("\t  .co_linetable = %zu,\n", offsetof(PyCodeObject, co_linetable));
#else
	printf("\t  .fr_previous = %zu, .fr_code = %zu, .fr_instr = %zu,\n",
	       offsetof(PyFrameObject, f_back), offsetof(PyFrameObject, f_code),
	       offsetof(PyFrameObject, f_lasti));
	printf("\t  .fr_owner = -1, .fr_is_entry = -1,\n");
	printf("\t  .co_qualname = -1, .co_code = -1,\n");
#if PY_VERSION_HEX >= 0x030A0000
	printf("\t  .co_linetable = %zu,\n", offsetof(PyCodeObject, co_linetable));
#else
	printf("\t  .co_linetable = %zu,\n", offsetof(PyCodeObject, co_lnotab));
#endif
#endif
	printf("\t  .co_filename = %zu, .co_name = %zu, .co_firstlineno = %zu,\n",
	       offsetof(PyCodeObject, co_filename), offsetof(PyCodeObject, co_name),
	       offsetof(PyCodeObject, co_firstlineno));
	printf("\t  .bytes_size = %zu, .bytes_data = %zu,\n", offsetof(PyVarObject, ob_size),
	       offsetof(PyBytesObject, ob_sval));
	printf("\t  .str_length = %zu, .str_hash = %zu, .str_state = %zu,\n",
	       offsetof(PyASCIIObject, length), offsetof(PyASCIIObject, hash),
	       offsetof(PyASCIIObject, state));
	printf("\t  .str_ascii_size = %zu, .str_compact_size = %zu },\n",
	       sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject));
	return 0;
}

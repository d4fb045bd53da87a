"""pymem_allocators.py — the PyMem RAW, MEM and OBJ allocators in use, read
with ctypes (PyMem_GetAllocator), for the attach tests: a capture with
--trace-python-allocators must leave them as they were."""
import ctypes


class _Allocator(ctypes.Structure):
    _fields_ = [(f, ctypes.c_void_p) for f in ("ctx", "malloc", "calloc", "realloc", "free")]


def allocators():
    get = ctypes.pythonapi.PyMem_GetAllocator
    get.argtypes, get.restype = [ctypes.c_int, ctypes.POINTER(_Allocator)], None
    out = []
    for domain in range(3):
        a = _Allocator()
        get(domain, ctypes.byref(a))
        out.append(tuple(getattr(a, f) for f, _ in a._fields_))
    return out

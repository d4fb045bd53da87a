/* record_io.c — varint framing of Record messages. */
#include "record_io.h"

size_t ma_varint_put(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

int ma_varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int i = 0; i < 10; i++) {
		if (p + i >= end)
			return 0;
		r |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return i + 1;
		}
	}
	return -1;
}

size_t ma_record_framed_size(const Memattach__Record *r)
{
	uint8_t tmp[10];
	size_t body = memattach__record__get_packed_size(r);
	return ma_varint_put(tmp, body) + body;
}

size_t ma_record_pack_framed_body(const Memattach__Record *r, size_t body, uint8_t *out)
{
	size_t n = ma_varint_put(out, body);
	return n + memattach__record__pack(r, out + n);
}

size_t ma_record_pack_framed(const Memattach__Record *r, uint8_t *out)
{
	return ma_record_pack_framed_body(r, memattach__record__get_packed_size(r), out);
}

const char *ma_kind_name(uint32_t kind)
{
	switch (kind) {
	case MEMATTACH__EVENT_KIND__MALLOC: return "malloc";
	case MEMATTACH__EVENT_KIND__CALLOC: return "calloc";
	case MEMATTACH__EVENT_KIND__REALLOC: return "realloc";
	case MEMATTACH__EVENT_KIND__REALLOCARRAY: return "reallocarray";
	case MEMATTACH__EVENT_KIND__POSIX_MEMALIGN: return "posix_memalign";
	case MEMATTACH__EVENT_KIND__ALIGNED_ALLOC: return "aligned_alloc";
	case MEMATTACH__EVENT_KIND__MEMALIGN: return "memalign";
	case MEMATTACH__EVENT_KIND__VALLOC: return "valloc";
	case MEMATTACH__EVENT_KIND__PVALLOC: return "pvalloc";
	case MEMATTACH__EVENT_KIND__OPERATOR_NEW: return "operator_new";
	case MEMATTACH__EVENT_KIND__OPERATOR_NEW_ARRAY: return "operator_new_array";
	case MEMATTACH__EVENT_KIND__MMAP: return "mmap";
	case MEMATTACH__EVENT_KIND__MREMAP: return "mremap";
	case MEMATTACH__EVENT_KIND__PYMEM_RAW_ALLOC: return "pymem_raw";
	case MEMATTACH__EVENT_KIND__PYMEM_MEM_ALLOC: return "pymem_mem";
	case MEMATTACH__EVENT_KIND__PYMEM_OBJ_ALLOC: return "pymem_obj";
	case MEMATTACH__EVENT_KIND__FREE: return "free";
	case MEMATTACH__EVENT_KIND__REALLOC_FREE: return "realloc_free";
	case MEMATTACH__EVENT_KIND__OPERATOR_DELETE: return "operator_delete";
	case MEMATTACH__EVENT_KIND__OPERATOR_DELETE_ARRAY: return "operator_delete_array";
	case MEMATTACH__EVENT_KIND__MUNMAP: return "munmap";
	case MEMATTACH__EVENT_KIND__MREMAP_FREE: return "mremap_free";
	case MEMATTACH__EVENT_KIND__PYMEM_RAW_FREE: return "pymem_raw_free";
	case MEMATTACH__EVENT_KIND__PYMEM_MEM_FREE: return "pymem_mem_free";
	case MEMATTACH__EVENT_KIND__PYMEM_OBJ_FREE: return "pymem_obj_free";
	default: return "unknown";
	}
}

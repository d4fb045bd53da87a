/* record_limits.c — checks a decoded record against record_limits.h. */
#include <stdio.h>
#include <string.h>
#include "record_limits.h"

static int too_many(char *why, size_t len, const char *what, size_t n, const char *unit, size_t max)
{
	snprintf(why, len, "%s of %zu %s (limit %zu)", what, n, unit, max);
	return -1;
}

/* Strings are NUL-terminated by protobuf-c; an embedded NUL only shortens
 * them, so strlen bounds what any reader will see. */
static int str_ok(const char *s, const char *what, char *why, size_t len)
{
	size_t n = s ? strnlen(s, MA_MAX_STRING + 1) : 0;
	return n > MA_MAX_STRING ? too_many(why, len, what, n, "bytes", MA_MAX_STRING) : 0;
}

int ma_stack_check(const Memattach__Stack *s, char *why, size_t len)
{
	if (s->n_frames > MA_MAX_STACK_FRAMES)
		return too_many(why, len, "a Stack", s->n_frames, "frames", MA_MAX_STACK_FRAMES);
	return 0;
}

int ma_module_check(const Memattach__Module *m, char *why, size_t len)
{
	if (m->n_segments > MA_MAX_SEGMENTS)
		return too_many(why, len, "a Module", m->n_segments, "segments", MA_MAX_SEGMENTS);
	if (m->build_id.len > MA_MAX_BUILD_ID)
		return too_many(why, len, "a Module build id", m->build_id.len, "bytes", MA_MAX_BUILD_ID);
	return str_ok(m->path, "a Module path", why, len);
}

static int batch_check(const Memattach__EventBatch *b, char *why, size_t len)
{
	size_t n = b->layout ? b->n_kind : b->n_seq_delta;   /* compact: kind has them all */
	if (n > MA_MAX_BATCH_EVENTS)
		return too_many(why, len, "an EventBatch", n, "events", MA_MAX_BATCH_EVENTS);
	return 0;
}

static int header_check(const Memattach__Header *h, char *why, size_t len)
{
	if (str_ok(h->command_line, "a Header command line", why, len) ||
	    str_ok(h->comm, "a Header comm", why, len) ||
	    str_ok(h->executable, "a Header executable", why, len) ||
	    str_ok(h->agent_version, "a Header agent version", why, len) ||
	    str_ok(h->hostname, "a Header hostname", why, len))
		return -1;
	return 0;
}

static int symbol_check(const Memattach__Symbol *s, char *why, size_t len)
{
	if (s->n_inlined > MA_MAX_INLINED)
		return too_many(why, len, "a Symbol", s->n_inlined, "inlined frames", MA_MAX_INLINED);
	if (str_ok(s->function, "a Symbol function", why, len) ||
	    str_ok(s->file, "a Symbol file", why, len) ||
	    str_ok(s->module, "a Symbol module", why, len))
		return -1;
	for (size_t i = 0; i < s->n_inlined; i++) {
		if (str_ok(s->inlined[i]->function, "an inlined function", why, len) ||
		    str_ok(s->inlined[i]->file, "an inlined file", why, len))
			return -1;
	}
	return 0;
}

int ma_record_check(const Memattach__Record *r, char *why, size_t len)
{
	switch (r->r_case) {
	case MEMATTACH__RECORD__R_HEADER:
		return header_check(r->header, why, len);
	case MEMATTACH__RECORD__R_EVENTS:
		return batch_check(r->events, why, len);
	case MEMATTACH__RECORD__R_STACK:
		return ma_stack_check(r->stack, why, len);
	case MEMATTACH__RECORD__R_PYTHON_FRAME:
		return str_ok(r->python_frame->function, "a PythonFrame function", why, len) ||
		       str_ok(r->python_frame->file, "a PythonFrame file", why, len) ? -1 : 0;
	case MEMATTACH__RECORD__R_MODULE:
		return ma_module_check(r->module, why, len);
	case MEMATTACH__RECORD__R_THREAD:
		return str_ok(r->thread->name, "a ThreadInfo name", why, len);
	case MEMATTACH__RECORD__R_SYMBOL:
		return symbol_check(r->symbol, why, len);
	case MEMATTACH__RECORD__R_CAPTURE_TRAILER:
		return str_ok(r->capture_trailer->note, "a CaptureTrailer note", why, len);
	default:
		return 0;
	}
}

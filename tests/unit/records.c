/* records.c — see records.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_io.h"
#include "records.h"

uint8_t *test_pack_framed(const Memattach__Record *r, size_t *len)
{
	*len = ma_record_framed_size(r);
	uint8_t *b = malloc(*len);
	if (!b)
		abort();
	size_t n = ma_record_pack_framed(r, b);
	if (n != *len)
		abort();
	return b;
}

uint8_t *test_record_framed(unsigned i, size_t *len)
{
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	char s1[64], s2[64];
	snprintf(s1, sizeof s1, "name-%u", i);
	snprintf(s2, sizeof s2, "/path/to/file-%u.c", i * 7);
	uint64_t frames[40];
	for (unsigned k = 0; k < 40; k++)
		frames[k] = 0x400000ull + i * 1000 + k * 13 + ((k == 3) ? MA_FRAME_PYTHON_BIT : 0);

	Memattach__Header h = MEMATTACH__HEADER__INIT;
	Memattach__EventBatch b = MEMATTACH__EVENT_BATCH__INIT;
	Memattach__Stack st = MEMATTACH__STACK__INIT;
	Memattach__PythonFrame pf = MEMATTACH__PYTHON_FRAME__INIT;
	Memattach__Module m = MEMATTACH__MODULE__INIT;
	Memattach__Segment seg[2] = { MEMATTACH__SEGMENT__INIT, MEMATTACH__SEGMENT__INIT };
	Memattach__Segment *segp[2] = { &seg[0], &seg[1] };
	Memattach__ModuleUnload mu = MEMATTACH__MODULE_UNLOAD__INIT;
	Memattach__ThreadInfo ti = MEMATTACH__THREAD_INFO__INIT;
	Memattach__Tick tk = MEMATTACH__TICK__INIT;
	Memattach__AgentTrailer at = MEMATTACH__AGENT_TRAILER__INIT;
	Memattach__Symbol sy = MEMATTACH__SYMBOL__INIT;
	Memattach__InlinedFrame inl = MEMATTACH__INLINED_FRAME__INIT;
	Memattach__InlinedFrame *inlp = &inl;
	Memattach__CaptureTrailer ct = MEMATTACH__CAPTURE_TRAILER__INIT;
	Memattach__Control c = MEMATTACH__CONTROL__INIT;
	uint64_t sd[5], td[5], sz[5];
	int64_t ad[5];
	uint32_t kd[5], sk[5];
	uint8_t bid[20];

	switch (i % TEST_RECORD_TYPES) {
	case 0:
		h.format_major = 1;
		h.format_minor = i;
		h.pid = 1000 + i;
		h.command_line = s1;
		h.comm = "comm";
		h.executable = s2;
		h.start_realtime_ns = 1700000000000000000ull + i;
		h.start_monotonic_ns = 123456789ull * i;
		h.native_depth = 64;
		h.page_size = 4096;
		h.agent_version = "0.1.0";
		h.hostname = "host";
		h.attached = i & 1;
		h.rss_at_start = 1ull << 30;
		h.first_seq = i;
		r.r_case = MEMATTACH__RECORD__R_HEADER;
		r.header = &h;
		break;
	case 1:
		for (unsigned k = 0; k < 5; k++) {
			sd[k] = k ? 1 + k : 1000 + i;
			td[k] = 17 * k + i;
			ad[k] = k ? -(int64_t)(16 * k) : (int64_t)(0x7f0000000000ull + i * 64);
			sz[k] = (k & 1) ? 0 : 24 + k + i;
			kd[k] = (k & 1) ? MEMATTACH__EVENT_KIND__FREE : MEMATTACH__EVENT_KIND__MALLOC;
			sk[k] = i + k;
		}
		b.tid = 77 + i;
		b.n_seq_delta = b.n_time_delta = b.n_addr_delta = b.n_size = b.n_kind = b.n_stack = 5;
		b.seq_delta = sd;
		b.time_delta = td;
		b.addr_delta = ad;
		b.size = sz;
		b.kind = kd;
		b.stack = sk;
		r.r_case = MEMATTACH__RECORD__R_EVENTS;
		r.events = &b;
		break;
	case 2:
		st.id = i;
		st.n_frames = 1 + i % 40;
		st.frames = frames;
		r.r_case = MEMATTACH__RECORD__R_STACK;
		r.stack = &st;
		break;
	case 3:
		pf.id = i;
		pf.kind = MEMATTACH__FRAME_KIND__FRAME_PYTHON;
		pf.function = s1;
		pf.file = s2;
		pf.line = i * 3;
		r.r_case = MEMATTACH__RECORD__R_PYTHON_FRAME;
		r.python_frame = &pf;
		break;
	case 4:
		for (unsigned k = 0; k < 20; k++)
			bid[k] = (uint8_t)(i + k);
		m.load_address = 0x7f0000000000ull + i * 4096;
		m.path = s2;
		m.build_id.len = 20;
		m.build_id.data = bid;
		seg[0].start = m.load_address;
		seg[0].end = m.load_address + 4096;
		seg[0].flags = 5;
		seg[1].start = m.load_address + 8192;
		seg[1].end = m.load_address + 16384;
		seg[1].file_offset = 8192;
		seg[1].flags = 6;
		m.n_segments = 2;
		m.segments = segp;
		m.seq = i;
		r.r_case = MEMATTACH__RECORD__R_MODULE;
		r.module = &m;
		break;
	case 5:
		mu.load_address = 0x7f0000000000ull + i;
		mu.seq = i;
		r.r_case = MEMATTACH__RECORD__R_MODULE_UNLOAD;
		r.module_unload = &mu;
		break;
	case 6:
		ti.tid = i;
		ti.name = s1;
		ti.seq = i;
		r.r_case = MEMATTACH__RECORD__R_THREAD;
		r.thread = &ti;
		break;
	case 7:
		tk.watermark = i;
		tk.time_ns = 10000000ull * i;
		tk.rss_bytes = 4096ull * i;
		r.r_case = MEMATTACH__RECORD__R_TICK;
		r.tick = &tk;
		break;
	case 8:
		at.reason = MEMATTACH__STOP_REASON__STOP_PROCESS_EXIT;
		at.watermark = i;
		at.time_ns = i * 5;
		at.dropped_events = i % 3;
		r.r_case = MEMATTACH__RECORD__R_AGENT_TRAILER;
		r.agent_trailer = &at;
		break;
	case 9:
		sy.address = 0x400000ull + i;
		sy.function = s1;
		sy.file = s2;
		sy.line = i;
		sy.module = "/lib/x.so";
		sy.module_offset = i;
		inl.function = "inlined";
		inl.file = "inl.h";
		inl.line = 3;
		sy.n_inlined = 1;
		sy.inlined = &inlp;
		r.r_case = MEMATTACH__RECORD__R_SYMBOL;
		r.symbol = &sy;
		break;
	case 10:
		ct.complete = i & 1;
		ct.note = s1;
		ct.end_realtime_ns = i;
		r.r_case = MEMATTACH__RECORD__R_CAPTURE_TRAILER;
		r.capture_trailer = &ct;
		break;
	default:
		c.op = MEMATTACH__CONTROL__OP__STOP;
		r.r_case = MEMATTACH__RECORD__R_CONTROL;
		r.control = &c;
		break;
	}
	return test_pack_framed(&r, len);
}

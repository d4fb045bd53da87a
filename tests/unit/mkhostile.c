/* mkhostile — writes a capture whose strings are what a hostile target
 * could put in its stream: terminal escape sequences (ESC, BEL, C1 CSI)
 * and bytes that are not UTF-8, in the command line, function, file and
 * module names.  report-escaping.sh checks every report shows them inert.
 *   usage: mkhostile OUT.cap */
#include <stdio.h>

#include "record_io.h"
#include "synth.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkhostile OUT.cap\n");
		return 2;
	}
	synth *s = synth_open(argv[1]);
	Memattach__Header h = MEMATTACH__HEADER__INIT;
	h.format_major = MA_FORMAT_MAJOR;
	h.format_minor = MA_FORMAT_MINOR;
	h.pid = 4242;
	h.command_line = "victim --title=\x1b]0;owned\x07 caf\xe9";
	h.comm = "victim";
	/* Not UTF-8 either: a surrogate, an overlong NUL, a code point above
	 * U+10FFFF, a cut sequence. */
	h.executable = "/opt/caf\xe9/\xed\xa0\x80\xc0\x80\xf4\x90\x80\x80\xe2\x82victim";
	h.native_depth = 64;
	h.page_size = 4096;
	h.first_seq = 0;
	Memattach__Record r = MEMATTACH__RECORD__INIT;
	r.r_case = MEMATTACH__RECORD__R_HEADER;
	r.header = &h;
	synth_record(s, &r);

	uint64_t frames[] = { 0x401000, 0x402000 };
	synth_stack(s, 1, 2, frames);
	Memattach__Symbol sy = MEMATTACH__SYMBOL__INIT;
	sy.address = 0x401000;
	sy.function = "evil\x1b[31mred\x1b[0m";
	sy.file = "src/caf\xe9\x9b" "2J.c";
	sy.line = 7;
	sy.module = "/opt/\x1b[2Jmod.so";
	r.r_case = MEMATTACH__RECORD__R_SYMBOL;
	r.symbol = &sy;
	synth_record(s, &r);
	Memattach__Symbol outer = MEMATTACH__SYMBOL__INIT;
	outer.address = 0x402000;
	outer.function = "c1\xc2\x9b" "2Jcsi";     /* U+009B, the one-byte CSI */
	outer.module = "/opt/\x1b[2Jmod.so";
	r.symbol = &outer;
	synth_record(s, &r);
	synth_thread(s, 1, "thr\x1b[5mblink");
	for (int i = 0; i < 10; i++)
		synth_event(s, 1, MEMATTACH__EVENT_KIND__MALLOC, 0x10000 + 64 * (uint64_t)i, 100, 1);
	synth_tick(s, 1 << 20);
	synth_finish(s, 1);
	synth_close(s);
	return 0;
}

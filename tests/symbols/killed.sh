#!/bin/bash
# killed.sh — a capture without symbols (its writer was killed before the
# end: no Symbol records, no trailers) still gets names: `report` reads them
# from this machine's files and says so; `memattach symbolize` stores them
# in the capture (the same records a normal end writes), atomically.
. "$(dirname "$0")/symcommon.sh"

cap=$sym_tmp/full.cap
sym_run "$cap" "$SYMDIR/symtarget"
cut=$sym_tmp/cut.cap
"$SYMCHECK" --strip "$cap" "$cut" || { echo "FAIL: symcheck --strip"; exit 1; }
[ -z "$("$SYMCHECK" "$cut")" ] || { echo "FAIL: the stripped capture still has symbols"; exit 1; }

# 1. report: names from the files at hand, and a note saying so
"$MEMATTACH" report stats --json --top 20 --frames 8 "$cut" >"$cut.json" 2>"$sym_tmp/rerr" ||
	{ echo "FAIL: report on the cut capture exited $?"; cat "$sym_tmp/rerr"; exit 1; }
cat "$sym_tmp/rerr"
grep -q "^note: the capture holds no symbols (its recording was cut off); [1-9][0-9]* names were read from this machine's files" "$sym_tmp/rerr" ||
	{ echo "FAIL: no note that names were read at report time"; exit 1; }
grep -q "warning: capture is truncated" "$sym_tmp/rerr" ||
	{ echo "FAIL: the truncation warning is gone"; exit 1; }
"$SYMCHECK" "$cut" >"$cut.syms"
expect_frame "$cut" "alloc_direct (*symtarget.c:$(marker_line symtarget.c SYM_DIRECT_ALLOC))"

# 2. symbolize: the capture gets the same Symbol records a normal end writes
before=$(stat -c %i "$cut")
"$MEMATTACH" symbolize "$cut" 2>"$sym_tmp/serr" ||
	{ echo "FAIL: memattach symbolize exited $?"; cat "$sym_tmp/serr"; exit 1; }
cat "$sym_tmp/serr"
n=$("$SYMCHECK" "$cap" | grep -c '^0x')
grep -q "^memattach: $n symbols added, written to $cut\$" "$sym_tmp/serr" ||
	{ echo "FAIL: want '$n symbols added'"; exit 1; }
[ "$(stat -c %i "$cut")" != "$before" ] || { echo "FAIL: not replaced by a rename"; exit 1; }
"$SYMCHECK" "$cap" | sort >"$sym_tmp/a"
"$SYMCHECK" "$cut" | sort >"$sym_tmp/b"
cmp -s "$sym_tmp/a" "$sym_tmp/b" || { echo "FAIL: symbols differ from the normal end's:"; diff "$sym_tmp/a" "$sym_tmp/b" | head; exit 1; }
"$MEMATTACH" report stats --json --top 20 --frames 8 "$cut" >"$cut.json" 2>"$sym_tmp/rerr" || exit 1
grep -q "note: the capture holds no symbols" "$sym_tmp/rerr" && { echo "FAIL: still resymbolized at report time"; exit 1; }
grep -q "the recording was cut off" "$sym_tmp/rerr" ||
	{ echo "FAIL: the report no longer says the recording was cut off:"; cat "$sym_tmp/rerr"; exit 1; }
expect_frame "$cut" "alloc_direct (*symtarget.c:$(marker_line symtarget.c SYM_DIRECT_ALLOC))"

# 3. nothing to add, and bad input
"$MEMATTACH" symbolize "$cap" -o "$sym_tmp/again.cap" 2>"$sym_tmp/serr" || exit 1
grep -q "^memattach: 0 symbols added" "$sym_tmp/serr" || { cat "$sym_tmp/serr"; echo "FAIL: want 0 added"; exit 1; }
"$MEMATTACH" symbolize "$sym_tmp/nosuch.cap" 2>"$sym_tmp/serr"
rc=$?
[ "$rc" = 3 ] || { echo "FAIL: a missing capture exits $rc, want 3"; exit 1; }
[ "$(wc -l <"$sym_tmp/serr")" = 1 ] || { echo "FAIL: want one line:"; cat "$sym_tmp/serr"; exit 1; }
ls "$sym_tmp" | grep -q 'symbolize-' && { echo "FAIL: a temporary file was left behind"; exit 1; }
echo "PASS"

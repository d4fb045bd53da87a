#!/bin/sh
# moved.sh — the symbols live in the capture: a capture copied elsewhere and
# read after the target binary was deleted still names every frame.
. "$(dirname "$0")/symcommon.sh"
direct=$(marker_line symtarget.c SYM_DIRECT_ALLOC)
inl=$(marker_line symtarget.c SYM_INLINE_ALLOC)
call=$(marker_line symtarget.c SYM_INLINE_CALL)
mkdir "$sym_tmp/bin" "$sym_tmp/elsewhere"
t=$sym_tmp/bin/symtarget
cp "$SYMDIR/symtarget" "$t"
cap=$sym_tmp/t.cap
sym_run "$cap" "$t"
rm -rf "$sym_tmp/bin"
cp "$cap" "$sym_tmp/elsewhere/copy.cap"
rm -f "$cap"
cap=$sym_tmp/elsewhere/copy.cap
sym_report "$cap"
expect_frame "$cap" "alloc_direct (*symtarget.c:$direct)"
expect_frame "$cap" "inline_helper (*symtarget.c:$inl) [inlined into] alloc_inlined (*symtarget.c:$call)"
expect_frame "$cap" "main (*symtarget.c:*)"

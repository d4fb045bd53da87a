#!/bin/sh
# inline.sh — an -O2 -g target: the function and file:line of a plain
# allocation, and an always-inline helper's allocation shown inlined into
# its caller with both lines, exactly.
. "$(dirname "$0")/symcommon.sh"
direct=$(marker_line symtarget.c SYM_DIRECT_ALLOC)
inl=$(marker_line symtarget.c SYM_INLINE_ALLOC)
call=$(marker_line symtarget.c SYM_INLINE_CALL)
cap=$sym_tmp/t.cap
sym_run "$cap" "$SYMDIR/symtarget"
expect_frame "$cap" "alloc_direct (*symtarget.c:$direct)"
expect_frame "$cap" "inline_helper (*symtarget.c:$inl) [inlined into] alloc_inlined (*symtarget.c:$call)"
# The record itself: the real function at the call site, the inlined frame
# with its own line, module and offset set.
if ! grep -A1 "	alloc_inlined	[^	]*symtarget.c:$call	.*/symtarget+0x" "$cap.syms" |
	grep -q "^  inlined	inline_helper	[^	]*symtarget.c:$inl\$"; then
	echo "FAIL: no Symbol record alloc_inlined :$call with inlined inline_helper :$inl"
	sed 's/^/    /' "$cap.syms"
	exit 1
fi
echo "ok: Symbol record with its inlined frame"

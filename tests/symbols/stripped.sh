#!/bin/sh
# stripped.sh — the target stripped, its debug info in a separate file
# found through .gnu_debuglink: still symbolized to the same lines.
. "$(dirname "$0")/symcommon.sh"
for t in objcopy strip; do
	if ! command -v $t >/dev/null; then
		echo "SKIP: $t is needed (apt-get install binutils)"
		exit 77
	fi
done
direct=$(marker_line symtarget.c SYM_DIRECT_ALLOC)
inl=$(marker_line symtarget.c SYM_INLINE_ALLOC)
call=$(marker_line symtarget.c SYM_INLINE_CALL)
mkdir "$sym_tmp/bin"
t=$sym_tmp/bin/symtarget
cp "$SYMDIR/symtarget" "$t"
objcopy --only-keep-debug "$t" "$t.debug" &&
	strip --strip-all "$t" &&
	objcopy --add-gnu-debuglink="$t.debug" "$t" || { echo "FAIL: cannot strip the target"; exit 1; }
if readelf -S "$t" | grep -q '\.debug_info\|\.symtab'; then
	echo "FAIL: the stripped target still has debug info or a symbol table"
	exit 1
fi
cap=$sym_tmp/t.cap
sym_run "$cap" "$t"
expect_frame "$cap" "alloc_direct (*symtarget.c:$direct)"
expect_frame "$cap" "inline_helper (*symtarget.c:$inl) [inlined into] alloc_inlined (*symtarget.c:$call)"

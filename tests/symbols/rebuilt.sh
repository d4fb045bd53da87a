#!/bin/sh
# rebuilt.sh — a module file whose build id differs from the one the target
# reported (rebuilt since) is not used: its frames get module+offset only,
# never wrong names.  Frames of the other modules keep their names.
. "$(dirname "$0")/symcommon.sh"
mkdir "$sym_tmp/bin"
t=$sym_tmp/bin/symtarget
cp "$SYMDIR/symtarget" "$t"
cap=$sym_tmp/t.cap
sym_run "$cap" "$t"
expect_frame "$cap" "alloc_direct (*symtarget.c:*)"
# Another program at the same path, then symbolize the capture again.
cp "$SYMDIR/symtarget_cxx" "$t"
if ! "$SYMCHECK" --resymbolize "$cap" "$sym_tmp/re.cap" >"$sym_tmp/re.out"; then
	echo "FAIL: symcheck --resymbolize failed"
	exit 1
fi
cap=$sym_tmp/re.cap
sym_report "$cap"
if grep "	$t+0x" "$cap.syms" | grep -qv '^0x[0-9a-f]*		:0	'; then
	echo "FAIL: frames of the replaced binary were named:"
	grep "	$t+0x" "$cap.syms" | sed 's/^/    /'
	exit 1
fi
n=$(grep -c "	$t+0x" "$cap.syms")
if [ "$n" -lt 2 ]; then
	echo "FAIL: expected Symbol records with module+offset for $t, got $n"
	exit 1
fi
echo "ok: $n frames of the replaced binary have module+offset only"
expect_frame "$cap" "0x* ($t+0x*)"
expect_frame "$cap" "__libc_start_call_main (*)"

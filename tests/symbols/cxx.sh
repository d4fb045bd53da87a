#!/bin/sh
# cxx.sh — a C++ member function appears demangled, with its line.
. "$(dirname "$0")/symcommon.sh"
line=$(marker_line symtarget_cxx.cc SYM_CXX_ALLOC)
cap=$sym_tmp/t.cap
sym_run "$cap" "$SYMDIR/symtarget_cxx"
expect_frame "$cap" "ns::Widget::grow(unsigned long) (*symtarget_cxx.cc:$line)"

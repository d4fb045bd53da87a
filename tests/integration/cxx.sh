#!/bin/sh
# cxx.sh — C++ new/delete, arrays, sized and aligned delete, nothrow new.
. "$(dirname "$0")/common.sh"
check_run 0 cxx

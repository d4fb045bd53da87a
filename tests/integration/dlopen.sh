#!/bin/sh
# dlopen.sh — a library dlopen'ed after start allocates through its own GOT.
. "$(dirname "$0")/common.sh"
check_run 0 dlopen "$TARGETS/.libs/libmadlib.so"

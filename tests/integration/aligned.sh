#!/bin/sh
# aligned.sh — posix_memalign, aligned_alloc, memalign, valloc, pvalloc.
. "$(dirname "$0")/common.sh"
check_run 0 aligned

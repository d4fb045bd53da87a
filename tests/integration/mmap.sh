#!/bin/sh
# mmap.sh — anonymous mmap/munmap (full and partial)/mremap; file maps ignored.
. "$(dirname "$0")/common.sh"
check_run 0 mmap

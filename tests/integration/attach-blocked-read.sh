#!/bin/sh
# attach-blocked-read.sh — attach/detach while the main thread is blocked in read() on a pipe: the call returns normally afterwards (see check_blocked).
. "$(dirname "$0")/attach-common.sh"
check_blocked read || { kill -9 "$bpid" 2>/dev/null; exit 1; }

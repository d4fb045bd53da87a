#!/bin/sh
# attach-blocked-cond.sh — attach/detach while the main thread is blocked in pthread_cond_wait: the call returns normally afterwards (see check_blocked).
. "$(dirname "$0")/attach-common.sh"
check_blocked cond || { kill -9 "$bpid" 2>/dev/null; exit 1; }

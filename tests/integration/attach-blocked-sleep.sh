#!/bin/sh
# attach-blocked-sleep.sh — attach/detach while the main thread is blocked in nanosleep(3 s): the call returns normally afterwards (see check_blocked).
. "$(dirname "$0")/attach-common.sh"
check_blocked sleep || { kill -9 "$bpid" 2>/dev/null; exit 1; }

#!/bin/sh
# attach-blocked-epoll.sh — attach/detach while the main thread is blocked in epoll_wait: the call returns normally afterwards (see check_blocked).
. "$(dirname "$0")/attach-common.sh"
check_blocked epoll || { kill -9 "$bpid" 2>/dev/null; exit 1; }

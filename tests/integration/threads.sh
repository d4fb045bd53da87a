#!/bin/sh
# threads.sh — 4 threads, cross-thread frees through queues, address reuse: exact totals.
. "$(dirname "$0")/common.sh"
check_run 0 threads

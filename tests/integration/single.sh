#!/bin/sh
# single.sh — one thread, varied malloc/free sizes, leaks, peak mid-run: exact totals.
. "$(dirname "$0")/common.sh"
check_run 0 single

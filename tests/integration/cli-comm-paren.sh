#!/bin/sh
# cli-comm-paren.sh — a process whose name holds ") " (the executable is a
# file named "a) T b") is attached and captured exactly: /proc/PID/stat is
# read past the last ')' (issue 11 item 3: a scan up to the first ')' read
# the state 'T' from the name and refused it as stopped, exit 17).
. "$(dirname "$0")/common.sh"
cp "$TARGETS/single" "$ma_tmp/a) T b" || exit 1
TARGETS=$ma_tmp
check_attach "a) T b" || exit 1

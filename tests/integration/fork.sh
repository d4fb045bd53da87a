#!/bin/sh
# fork.sh — the parent's totals are exact; the forked child's work is absent.
. "$(dirname "$0")/common.sh"
check_run 0 fork

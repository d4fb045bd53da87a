#!/bin/sh
# realloc.sh — realloc chains, realloc(NULL,n), realloc(p,0), reallocarray, failed reallocs.
. "$(dirname "$0")/common.sh"
check_run 0 realloc

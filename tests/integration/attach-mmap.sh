#!/bin/sh
# attach-mmap.sh — memattach --pid attached between the workload's signals: exact totals of the workload.
. "$(dirname "$0")/common.sh"
check_attach mmap

#!/bin/sh
# attach-untracked.sh — memattach --pid attached between the workload's signals: exact totals of the workload; the pre-workload blocks freed in it are untracked_frees.
. "$(dirname "$0")/common.sh"
check_attach untracked

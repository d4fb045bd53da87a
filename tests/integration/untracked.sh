#!/bin/sh
# untracked.sh — under memattach run the pre-workload blocks are tracked: untracked_frees 0.
. "$(dirname "$0")/common.sh"
check_run 0 untracked

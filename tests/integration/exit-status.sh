#!/bin/sh
# exit-status.sh — memattach run exits with the target's status (3) and the capture is complete.
. "$(dirname "$0")/common.sh"
check_run 3 single --exit-code 3

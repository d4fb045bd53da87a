#!/bin/sh
# calloc.sh — calloc counts nmemb*size; overflowing calloc leaves no trace.
. "$(dirname "$0")/common.sh"
check_run 0 calloc

#!/bin/sh
# unwind-check.sh — the agent's fast unwinder gives exactly libunwind's
# stacks: with MEMATTACH_TEST_UNWIND_CHECK set the agent walks every
# allocation's stack both ways and says so (a warning) when they differ,
# and that it agreed when one fast walk was compared; a stack id the walk
# reuses for frames it found unchanged is checked against the frames' own.
# Targets: stacks of every shape (unwind_shapes: exceptions, signal
# handlers on both stacks, longjmp, swapcontext, alloca, threads, no frame
# pointers) and the counting targets; their counts must stay exact too.
. "$(dirname "$0")/common.sh"
MEMATTACH_TEST_UNWIND_CHECK=1
export MEMATTACH_TEST_UNWIND_CHECK
status=0
for target in unwind_shapes cxx threads single realloc; do
	check_run 0 "$target" || status=1
	if grep -q 'unwind check: fast walk differs' "$ma_tmp/err"; then
		echo "FAIL: $target: the fast unwinder and libunwind disagree"
		status=1
	fi
	if grep -q 'unwind check: a reused stack id differs' "$ma_tmp/err"; then
		echo "FAIL: $target: a stack id kept by the walk is not its frames' id"
		status=1
	fi
	if ! grep -q 'unwind check: fast walks agree' "$ma_tmp/err"; then
		echo "FAIL: $target: no fast walk was compared"
		status=1
	fi
done
exit $status

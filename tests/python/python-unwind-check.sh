#!/bin/sh
# python-unwind-check.sh — in a Python process the native walk that looks
# for the innermost eval-loop frame (stack_table.c) is the fast unwinder's
# (unwind_cache.c), and must give exactly libunwind's frames: with
# MEMATTACH_TEST_UNWIND_CHECK set the agent walks every allocation's stack
# both ways and says so (a warning) when they differ.  alloc.py under every
# CPython present (its Python stacks are checked exact too).
. "$(dirname "$0")/common.sh"
MEMATTACH_TEST_UNWIND_CHECK=1
export MEMATTACH_TEST_UNWIND_CHECK
unwind_check() {
	local py=$1 fail=0
	check_python "$py" alloc.py || fail=1
	if grep -q 'unwind check: .* differs' "$py_tmp/err"; then
		echo "FAIL: $py: a fast path and its check disagree:"
		grep "unwind check: .* differs" "$py_tmp/err" | head -3
		fail=1
	fi
	if ! grep -q 'unwind check: fast walks agree' "$py_tmp/err"; then
		echo "FAIL: $py: no fast walk was compared"
		fail=1
	fi
	return $fail
}
each_python unwind_check

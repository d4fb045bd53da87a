#!/bin/sh
# --trace-python-allocators with every pyenv CPython 3.8-3.13: the same
# known allocations, now as PYMEM_* events (the malloc beneath is not
# counted twice), with their Python frames.
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pyenv_pythons); do
	n=$((n + 1))
	check_python --pyalloc "$py" alloc.py basic threads use_gen use_async exec_loop same_shape freed_frames || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 under /root/.pyenv/versions"
	exit 77
fi
exit $fail

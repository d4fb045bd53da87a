#!/bin/sh
# Python frames under `memattach run` with every pyenv CPython 3.8-3.13:
# known sizes from known functions and lines, threads, a generator, async
# def, and functions re-created by exec at reused addresses (alloc.py).
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pyenv_pythons); do
	n=$((n + 1))
	check_python "$py" alloc.py || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 under /root/.pyenv/versions"
	exit 77
fi
exit $fail

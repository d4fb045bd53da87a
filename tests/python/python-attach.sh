#!/bin/sh
# memattach --pid on Python processes asleep in time.sleep (every pyenv
# CPython 3.8-3.13): the sleep is not cut short, frames are read; and
# --trace-python-allocators attached to the newest one.
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pyenv_pythons); do
	n=$((n + 1))
	check_attach "$py" || fail=1
	last=$py
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 under /root/.pyenv/versions"
	exit 77
fi
# The PyMem wrappers installed through the GIL from the agent's thread.
check_attach --pyalloc "$last" || fail=1
exit $fail

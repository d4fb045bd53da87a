#!/bin/sh
# The distribution's /usr/bin/python3 (Debian: libpython linked into a
# non-PIE executable): run and attach.
. "$(dirname "$0")/common.sh"
py=/usr/bin/python3
if [ ! -x $py ] || ! $py -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 13))'; then
	echo "SKIP: no /usr/bin/python3 of version 3.8-3.13"
	exit 77
fi
fail=0
check_python $py alloc.py || fail=1
check_attach $py || fail=1
exit $fail

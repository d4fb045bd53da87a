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

# numpy (python3-numpy): the buffer of np.zeros((1000, 1000)) under the
# Python line, then numpy's own C frames in the report's Python view.
if ! $py -c 'import numpy' 2>/dev/null; then
	echo "FAIL: $py cannot import numpy (apt-get install python3-numpy)"
	exit 1
fi
check_python $py numpy_alloc.py || fail=1
"$MEMATTACH" report folded --total "$py_tmp/run.cap" >"$py_tmp/folded" || fail=1
line=$(grep ';make_zeros;' "$py_tmp/folded" | awk '$NF == 8000000')
echo "folded: $line"
if [ -z "$line" ]; then
	echo "FAIL: no 8,000,000-byte stack through make_zeros in the folded report"
	fail=1
else
	# Every frame after make_zeros must be numpy's (by symbol or module).
	below=${line#*;make_zeros;}
	below=${below% *}
	bad=$(echo "$below" | tr ';' '\n' | grep -v -E '^(_multiarray_umath|PyArray_|array_|npy_|_npy|PyDataMem_)' || true)
	if [ -n "$bad" ]; then
		echo "FAIL: frames under make_zeros that are not numpy's: $(echo $bad)"
		fail=1
	fi
fi
exit $fail

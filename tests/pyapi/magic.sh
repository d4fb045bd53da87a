#!/bin/sh
# The notebook magics (%load_ext memattach; %%memattach_summary,
# %%memattach_flamegraph) driven through IPython's test shell, exact bytes
# and line of a cell's allocations (magic_checks.py).  Interpreters that
# have IPython or can run Debian's python3-ipython (pure Python) from
# /usr/lib/python3/dist-packages.
. "$(dirname "$0")/common.sh"
fail=0 n=0
pa_path=$PYTHONPATH
for py in $(pa_pythons); do
	PYTHONPATH=$pa_path
	if ! "$py" -c 'import IPython.testing.globalipapp' 2>/dev/null; then
		PYTHONPATH=$pa_path:/usr/lib/python3/dist-packages
		"$py" -c 'import IPython.testing.globalipapp' 2>/dev/null || continue
	fi
	n=$((n + 1))
	echo "=== $py (IPython)"
	(cd "$pa_tmp" && TERM=dumb IPYTHONDIR="$pa_tmp/ipython" timeout 120 "$py" "$pa_here/magic_checks.py") || fail=1
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython with IPython (apt-get install python3-ipython)"
	exit 77
fi
exit $fail

#!/bin/sh
# The pytest plugin (-p memattach.pytest_plugin --memattach) over
# limits_cases.py: outcomes exactly, the failure messages' limit, value and
# top location (file:line of the allocation); without --memattach nothing
# is enforced.  --most-allocations 3 and --memattach-bin-path: the three
# biggest tests in order, figures equal to their kept captures
# (check_most.py); again under pytest-xdist (-n 2) where it is installed,
# with the default (5, all of them).  Interpreters that have pytest, or that can run Debian's
# python3-pytest (pure Python) from /usr/lib/python3/dist-packages.
. "$(dirname "$0")/common.sh"
fail=0 n=0 nx=0
pa_path=$PYTHONPATH

# run_with PY N [PYTEST ARGS]: the plugin on, its options, results checked;
# N tests listed at the end (5: the default)
run_with() {
	py=$1 most=$2
	shift 2
	rm -rf "$pa_tmp/bins"
	(cd "$pa_tmp" && timeout 300 "$py" -m pytest -p memattach.pytest_plugin --memattach -q -rA \
		-p no:cacheprovider --junitxml="$pa_tmp/junit.xml" \
		--memattach-bin-path "$pa_tmp/bins" "$@" test_limits.py) >"$pa_tmp/out" 2>&1
	"$py" "$pa_here/check_pytest.py" "$pa_tmp/junit.xml" "$pa_tmp/test_limits.py" "$pa_tmp/out" with &&
		"$py" "$pa_here/check_most.py" "$pa_tmp/out" "$pa_tmp/bins" "$most" || { tail -n 40 "$pa_tmp/out"; fail=1; }
}
for py in $(pa_pythons); do
	PYTHONPATH=$pa_path
	if ! "$py" -c 'import pytest' 2>/dev/null; then
		PYTHONPATH=$pa_path:/usr/lib/python3/dist-packages
		"$py" -c 'import pytest' 2>/dev/null || continue
	fi
	n=$((n + 1))
	echo "=== $py -m pytest -p memattach.pytest_plugin --memattach"
	cp "$pa_here/limits_cases.py" "$pa_tmp/test_limits.py"
	run_with "$py" 3 --most-allocations 3
	if "$py" -c 'import xdist' 2>/dev/null; then
		nx=$((nx + 1))
		echo "=== $py -m pytest -n 2 (pytest-xdist)"
		run_with "$py" 5 -n 2 -v   # -q -v: xdist's worker lines are printed
		grep -q "^gw0 \[5\] / gw1 \[5\]" "$pa_tmp/out" || { echo "FAIL: xdist did not run 2 workers"; fail=1; }
	fi
	(cd "$pa_tmp" && timeout 300 "$py" -m pytest -p memattach.pytest_plugin -q -rA \
		-p no:cacheprovider --junitxml="$pa_tmp/junit.xml" test_limits.py) >"$pa_tmp/out" 2>&1
	"$py" "$pa_here/check_pytest.py" "$pa_tmp/junit.xml" "$pa_tmp/test_limits.py" "$pa_tmp/out" without || { tail -n 40 "$pa_tmp/out"; fail=1; }
done
[ $nx = 0 ] && echo "note: pytest-xdist is not installed: the -n 2 run was skipped (apt-get install python3-pytest-xdist)"
if [ $n = 0 ]; then
	echo "SKIP: no CPython with pytest (apt-get install python3-pytest)"
	exit 77
fi
exit $fail

#!/bin/sh
# The pytest plugin (-p memattach.pytest_plugin --memattach) over
# limits_cases.py: outcomes exactly, the failure messages' limit, value and
# top location (file:line of the allocation); without --memattach nothing
# is enforced.  Interpreters that have pytest, or that can run Debian's
# python3-pytest (pure Python) from /usr/lib/python3/dist-packages.
. "$(dirname "$0")/common.sh"
fail=0 n=0
pa_path=$PYTHONPATH
for py in $(pa_pythons); do
	PYTHONPATH=$pa_path
	if ! "$py" -c 'import pytest' 2>/dev/null; then
		PYTHONPATH=$pa_path:/usr/lib/python3/dist-packages
		"$py" -c 'import pytest' 2>/dev/null || continue
	fi
	n=$((n + 1))
	echo "=== $py -m pytest -p memattach.pytest_plugin --memattach"
	cp "$pa_here/limits_cases.py" "$pa_tmp/test_limits.py"
	(cd "$pa_tmp" && timeout 300 "$py" -m pytest -p memattach.pytest_plugin --memattach -q -rA \
		-p no:cacheprovider --junitxml="$pa_tmp/junit.xml" test_limits.py) >"$pa_tmp/out" 2>&1
	"$py" "$pa_here/check_pytest.py" "$pa_tmp/junit.xml" "$pa_tmp/test_limits.py" "$pa_tmp/out" with || { tail -n 40 "$pa_tmp/out"; fail=1; }
	(cd "$pa_tmp" && timeout 300 "$py" -m pytest -p memattach.pytest_plugin -q -rA \
		-p no:cacheprovider --junitxml="$pa_tmp/junit.xml" test_limits.py) >"$pa_tmp/out" 2>&1
	"$py" "$pa_here/check_pytest.py" "$pa_tmp/junit.xml" "$pa_tmp/test_limits.py" "$pa_tmp/out" without || { tail -n 40 "$pa_tmp/out"; fail=1; }
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython with pytest (apt-get install python3-pytest)"
	exit 77
fi
exit $fail

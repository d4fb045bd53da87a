#!/bin/sh
# The notebook magics (%load_ext memattach; %%memattach_summary,
# %%memattach_flamegraph) driven through IPython's test shell, exact bytes
# and line of a cell's allocations (magic_checks.py); the flame graph
# output, put in a page as a notebook shows it, runs inside its iframe in
# headless Chromium with the cell's exact bytes (magic_page.py; once, with
# the first interpreter, when Chromium is installed).  Interpreters that
# have IPython or can run Debian's python3-ipython (pure Python) from
# /usr/lib/python3/dist-packages; one that cannot is named with the
# import's own error (on 3.8-3.10, IPython.testing imports Debian's
# pytest, which needs python3-exceptiongroup there).
. "$(dirname "$0")/common.sh"
fail=0 n=0
pa_path=$PYTHONPATH
for py in $(pa_pythons); do
	PYTHONPATH=$pa_path
	if ! "$py" -c 'import IPython.testing.globalipapp' 2>/dev/null; then
		PYTHONPATH=$pa_path:/usr/lib/python3/dist-packages
		if ! why=$("$py" -c 'import IPython.testing.globalipapp' 2>&1); then
			echo "skip: $py: import IPython.testing.globalipapp (Debian's, from /usr/lib/python3/dist-packages) fails: $(echo "$why" | tail -1)"
			continue
		fi
	fi
	n=$((n + 1))
	echo "=== $py (IPython)"
	page=
	[ $n = 1 ] && page=$pa_tmp/notebook.html
	(cd "$pa_tmp" && TERM=dumb IPYTHONDIR="$pa_tmp/ipython" timeout 120 "$py" "$pa_here/magic_checks.py" $page) || fail=1
	if [ -n "$page" ]; then
		if [ ! -f "$page" ]; then
			echo "FAIL: no flame graph output to load in a browser"
			fail=1
		else
			timeout 300 "$py" "$pa_here/magic_page.py" "$page"
			case $? in
			0) ;;
			77) echo "note: chromium is not installed: the in-browser check was skipped" ;;
			*) fail=1 ;;
			esac
		fi
	fi
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython with IPython (apt-get install python3-ipython)"
	exit 77
fi
exit $fail

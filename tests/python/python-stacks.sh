#!/bin/sh
# Python frames under `memattach run` with every pyenv CPython 3.8-3.13:
# known sizes from known functions and lines, threads, a generator, async
# def, and functions re-created by exec at reused addresses (alloc.py);
# daemon threads allocating while the interpreter finalizes (daemon.py).
. "$(dirname "$0")/common.sh"
fail=0 n=0
for py in $(pyenv_pythons); do
	n=$((n + 1))
	check_python "$py" alloc.py || fail=1
	echo "=== $py daemon.py (daemon threads allocating through finalization)"
	case $py in
	*/3.10.*)
		# CPython 3.10's own defect: see DESIGN.md "Known limits".
		echo "not run: CPython 3.10 crashes daemon threads whenever exit() is delayed"
		continue ;;
	esac
	for i in 1 2 3; do
		timeout 40 "$MEMATTACH" run -q -o "$py_tmp/d.cap" -- "$py" "$py_here/daemon.py" \
			>"$py_tmp/dout" 2>"$py_tmp/derr" </dev/null
		rc=$?
		if [ $rc != 0 ] || ! grep -q done "$py_tmp/dout"; then
			py_show stderr "$py_tmp/derr"
			echo "FAIL: exited $rc"
			fail=1
			break
		fi
	done
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 under /root/.pyenv/versions"
	exit 77
fi
exit $fail

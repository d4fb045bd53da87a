# pythons.sh — sourced by tests/python/common.sh and tests/pyapi/common.sh:
# the interpreters the Python tests try.

# The pyenv builds of 3.8-3.13 present (MA_PYTHONS overrides).
pyenv_pythons() {
	if [ -n "${MA_PYTHONS:-}" ]; then
		echo "$MA_PYTHONS"
		return
	fi
	for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
		for d in /root/.pyenv/versions/$v.*; do
			[ -x "$d/bin/python3" ] && echo "$d/bin/python3"
		done
	done
}

# Every CPython 3.8-3.13 to try: the pyenv ones, then the distribution's
# /usr/bin/python3 (Debian: libpython linked into a non-PIE executable).
all_pythons() {
	pyenv_pythons
	[ -n "${MA_PYTHONS:-}" ] && return
	/usr/bin/python3 -c 'import sys; sys.exit(not (3, 8) <= sys.version_info[:2] <= (3, 13))' \
		2>/dev/null && echo /usr/bin/python3
}

# each_python FUNC...: each FUNC PY N for each interpreter of all_pythons
# (N counts from 1); then exits: 1 when a call failed, 77 (skip) when
# there was no interpreter.
each_python() {
	local fail=0 n=0 py f
	for py in $(all_pythons); do
		n=$((n + 1))
		for f in "$@"; do
			"$f" "$py" $n || fail=1
		done
	done
	if [ $n = 0 ]; then
		echo "SKIP: no CPython 3.8-3.13"
		exit 77
	fi
	exit $fail
}

# symcommon.sh — sourced by the symbolization tests.  Run from the top
# build directory (as `make check` does), or set MA_BUILDDIR.
set -u

sym_here=$(cd "$(dirname "$0")" && pwd)
sym_builddir=${MA_BUILDDIR:-$(pwd)}
MEMATTACH=$sym_builddir/memattach
SYMCHECK=$sym_builddir/tests/symbols/symcheck
SYMDIR=$sym_builddir/tests/symbols
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

for f in "$MEMATTACH" "$SYMCHECK" "$SYMDIR/symtarget" "$SYMDIR/symtarget_cxx"; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f not built (run from the build directory or set MA_BUILDDIR)"
		exit 1
	fi
done
if ! "$PYTHON" -c 'import json' 2>/dev/null; then
	echo "SKIP: python3 is needed to read the report (apt-get install python3)"
	exit 77
fi

sym_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-sym.XXXXXX")
trap 'rm -rf "$sym_tmp"' EXIT

# marker_line FILE MARKER — the line number of the marker comment.
marker_line() {
	local n
	n=$(grep -n "$2" "$sym_here/$1" | head -n 1 | cut -d: -f1)
	if [ -z "$n" ]; then
		echo "FAIL: marker $2 not found in $1" >&2
		exit 1
	fi
	echo "$n"
}

# sym_run CAPTURE PROGRAM ARGS... — memattach run, then the JSON report
# (CAPTURE.json) and the Symbol records (CAPTURE.syms).
sym_run() {
	local cap=$1 rc
	shift
	echo "=== memattach run -o $cap -- $*"
	"$MEMATTACH" run -o "$cap" -- "$@" >"$sym_tmp/out" 2>"$sym_tmp/err" </dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "FAIL: memattach run exited $rc"
		sed 's/^/    /' "$sym_tmp/err"
		exit 1
	fi
	if grep -q 'warning' "$sym_tmp/err"; then
		echo "FAIL: memattach warned:"
		sed 's/^/    /' "$sym_tmp/err"
		exit 1
	fi
	sym_report "$cap"
}

# sym_report CAPTURE — report stats --json and the Symbol records.
sym_report() {
	if ! "$MEMATTACH" report stats --json --top 20 --frames 8 "$1" >"$1.json" 2>"$sym_tmp/rerr"; then
		echo "FAIL: memattach report stats --json $1 failed"
		sed 's/^/    /' "$sym_tmp/rerr"
		exit 1
	fi
	if ! "$SYMCHECK" "$1" >"$1.syms"; then
		echo "FAIL: symcheck $1 failed"
		exit 1
	fi
}

# expect_frame CAPTURE NAME — NAME (a "*" matches a path prefix) is the
# name of a frame of a leaked stack in the report of CAPTURE.
expect_frame() {
	if "$PYTHON" "$sym_here/check_names.py" "$1.json" "$2"; then
		echo "ok: frame '$2'"
	else
		echo "--- symbols:"
		sed 's/^/    /' "$1.syms" | head -n 40
		exit 1
	fi
}

# common.sh — sourced by the integration tests.  Runs a counting target
# under `memattach run`, reads the capture with `memattach report stats
# --json` and compares with the truth the target printed.
# Run from the top build directory (as `make check` does), or set MA_BUILDDIR.
set -u

ma_here=$(cd "$(dirname "$0")" && pwd)
ma_builddir=${MA_BUILDDIR:-$(pwd)}
MEMATTACH=$ma_builddir/memattach
TARGETS=$ma_builddir/tests/targets
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi

if [ ! -x "$MEMATTACH" ]; then
	echo "FAIL: $MEMATTACH not built (run from the build directory or set MA_BUILDDIR)"
	exit 1
fi
if ! "$PYTHON" -c 'import json' 2>/dev/null; then
	echo "SKIP: python3 is needed to compare (apt-get install python3)"
	exit 77
fi

ma_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-test.XXXXXX")
trap 'rm -rf "$ma_tmp"' EXIT

# Shows a file to the log, indented, when it has anything in it.
ma_show() {
	if [ -s "$2" ]; then
		echo "--- $1:"
		sed 's/^/    /' "$2" | head -n 40
	fi
}

# check_run EXPECTED_STATUS TARGET ARGS...
# Runs TARGET under memattach run and compares its truth with the report.
check_run() {
	local want=$1 target=$2 rc
	shift 2
	local cap=$ma_tmp/$target.cap
	echo "=== memattach run -o $cap -- $target $*"
	"$MEMATTACH" run -o "$cap" -- "$TARGETS/$target" "$@" \
		>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
	rc=$?
	ma_show "target stdout" "$ma_tmp/out"
	ma_show "stderr" "$ma_tmp/err"
	if [ "$rc" != "$want" ]; then
		echo "FAIL: memattach run exited $rc, the target's status is $want"
		return 1
	fi
	# The target's own stdout must pass through: its truth line ends it.
	if ! tail -n 1 "$ma_tmp/out" | grep -q '^{"total_allocations"'; then
		echo "FAIL: the target's truth line is not the last line of stdout"
		return 1
	fi
	if [ ! -s "$cap" ]; then
		echo "FAIL: no capture file written"
		return 1
	fi
	"$MEMATTACH" report stats --json "$cap" >"$ma_tmp/report.json" 2>"$ma_tmp/report.err"
	rc=$?
	ma_show "report stderr" "$ma_tmp/report.err"
	if [ "$rc" != 0 ]; then
		echo "FAIL: memattach report stats --json exited $rc"
		ma_show "report stdout" "$ma_tmp/report.json"
		return 1
	fi
	echo "--- report: $(head -c 2000 "$ma_tmp/report.json")"
	"$PYTHON" "$ma_here/compare.py" "$ma_tmp/out" "$ma_tmp/report.json"
}

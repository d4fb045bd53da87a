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

# once per test, which may source two helpers that both source this file
[ -n "${ma_tmp_made:-}" ] || {
	ma_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-test.XXXXXX")
	trap 'rm -rf "$ma_tmp"' EXIT
	ma_tmp_made=1
}

# Shows a file to the log, indented, when it has anything in it.
ma_show() {
	if [ -s "$2" ]; then
		echo "--- $1:"
		sed 's/^/    /' "$2" | head -n 40
	fi
}

# ma_compare_truth CAP: the capture's `report stats --json` against the
# truth line the target printed to $ma_tmp/out.
ma_compare_truth() {
	local rc
	"$MEMATTACH" report stats --json "$1" >"$ma_tmp/report.json" 2>"$ma_tmp/report.err"
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

# check_run EXPECTED_STATUS TARGET ARGS...
# Runs TARGET under memattach run and compares its truth with the report.
# MA_WRAP, when set, is a command (words) that runs before TARGET and is
# expected to exec it, as a wrapper script does.
check_run() {
	local want=$1 target=$2 rc
	shift 2
	local cap=$ma_tmp/$target.cap
	echo "=== memattach run -o $cap -- ${MA_WRAP:-}${MA_WRAP:+ }$target $*"
	# shellcheck disable=SC2086  # MA_WRAP is words on purpose
	"$MEMATTACH" run -o "$cap" -- ${MA_WRAP:-} "$TARGETS/$target" "$@" \
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
	ma_compare_truth "$cap"
}

# ma_wait_tracking — waits for memattach ($mpid, stderr in $ma_tmp/err) to
# say "tracking pid", its word that the hooks are in place.  Returns 1 (the
# target $tpid killed) when it exited before; exit 77 when ptrace is not
# permitted (exit 6).
ma_wait_tracking() {
	while ! grep -q 'tracking pid' "$ma_tmp/err" 2>/dev/null; do
		if ! kill -0 "$mpid" 2>/dev/null; then
			wait "$mpid"
			rc=$?
			ma_show "memattach stderr" "$ma_tmp/err"
			kill -9 "$tpid" 2>/dev/null
			if [ "$rc" = 6 ]; then
				echo "SKIP: ptrace is not permitted here (memattach exit 6)"
				exit 77
			fi
			echo "FAIL: memattach --pid exited $rc before tracking"
			return 1
		fi
		sleep 0.05
	done
}

# ma_wait_for FILE PATTERN SECONDS — waits until FILE has a line matching
# PATTERN; returns 1 on timeout.
ma_wait_for() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
}

# check_attach TARGET ARGS...
# Starts TARGET --wait-signal, attaches `memattach --pid` between its two
# SIGUSR1s, stops memattach with SIGINT after the workload, and compares
# the target's truth (which then covers the workload only) with the report.
check_attach() {
	local target=$1 tpid mpid rc
	shift
	local cap=$ma_tmp/$target.cap
	echo "=== $target --wait-signal $*; memattach --pid PID -o $cap"
	: >"$ma_tmp/out"   # the child truncates it only once it runs: a wait must not meet the last lines
	"$TARGETS/$target" --wait-signal "$@" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
	tpid=$!
	if ! ma_wait_for "$ma_tmp/out" '^ready ' 10; then
		echo "FAIL: the target did not get ready"
		kill -9 "$tpid" 2>/dev/null
		return 1
	fi
	"$MEMATTACH" --pid "$tpid" -o "$cap" >"$ma_tmp/mout" 2>"$ma_tmp/err" </dev/null &
	mpid=$!
	ma_wait_tracking || return 1
	kill -USR1 "$tpid"
	if ! ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 120; then
		echo "FAIL: the target's workload did not finish under memattach"
		ma_show "memattach stderr" "$ma_tmp/err"
		kill -9 "$tpid" "$mpid" 2>/dev/null
		return 1
	fi
	kill -INT "$mpid"
	wait "$mpid"
	rc=$?
	kill -USR1 "$tpid"
	wait "$tpid"
	local trc=$?
	ma_show "target stdout" "$ma_tmp/out"
	ma_show "target stderr" "$ma_tmp/terr"
	ma_show "memattach stderr" "$ma_tmp/err"
	if [ "$rc" != 0 ]; then
		echo "FAIL: memattach --pid exited $rc after SIGINT (want 0)"
		return 1
	fi
	if [ "$trc" != 0 ]; then
		echo "FAIL: the target exited $trc after memattach detached (want 0)"
		return 1
	fi
	ma_compare_truth "$cap"
}

# common.sh — sourced by the Python tests: the interpreters to try and a
# runner that captures one script under one interpreter and checks it.
set -u
py_here=$(cd "$(dirname "$0")" && pwd)
py_builddir=${MA_BUILDDIR:-$(pwd)}
MEMATTACH=$py_builddir/memattach
PYEVENTS=$py_builddir/tests/python/pyevents
if [ -x /usr/bin/python3 ]; then CHECKPY=/usr/bin/python3; else CHECKPY=python3; fi
for f in "$MEMATTACH" "$PYEVENTS"; do
	if [ ! -x "$f" ]; then
		echo "FAIL: $f not built (run from the build directory or set MA_BUILDDIR)"
		exit 1
	fi
done
py_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-pytest.XXXXXX")
trap 'rm -rf "$py_tmp"' EXIT

. "$py_here/pythons.sh"

py_show() {
	if [ -s "$2" ]; then
		echo "--- $1:"
		sed 's/^/    /' "$2" | head -n 30
	fi
}

# check_python [--pyalloc] PYTHON SCRIPT ARGS...: memattach run, then
# compare (with --pyalloc: --trace-python-allocators, and the allocations
# checked must come as PYMEM events).
check_python() {
	local opt= kind=
	if [ "$1" = --pyalloc ]; then
		opt=--trace-python-allocators kind=pymem_
		shift
	fi
	local py=$1 script=$2 rc
	shift 2
	local cap=$py_tmp/run.cap
	echo "=== memattach run $opt -- $py $script $*"
	timeout 40 "$MEMATTACH" run $opt -q -o "$cap" -- "$py" "$py_here/$script" "$@" \
		>"$py_tmp/out" 2>"$py_tmp/err" </dev/null
	rc=$?
	py_show stderr "$py_tmp/err"
	if [ $rc != 0 ]; then
		echo "FAIL: memattach run -- $py exited $rc"
		return 1
	fi
	"$PYEVENTS" "$cap" 1000 >"$py_tmp/events" || return 1
	"$CHECKPY" "$py_here/check.py" "$py_tmp/out" "$py_tmp/events" $kind
}

# check_attach [--pyalloc] PYTHON: memattach --pid on a process asleep in time.sleep;
# the sleep must last its full time, and what it allocates afterwards
# while still captured must carry its Python frames.
check_attach() {
	local opt= kind=
	if [ "$1" = --pyalloc ]; then
		opt=--trace-python-allocators kind=pymem_
		shift
	fi
	local py=$1 rc i
	local cap=$py_tmp/attach.cap sleep_s=4
	echo "=== memattach --pid $opt: $py idle.py"
	rm -f "$py_tmp/stop"
	: >"$py_tmp/out"   # the last interpreter's "ready" must not end the wait below
	"$py" "$py_here/idle.py" $sleep_s "$py_tmp/stop" >"$py_tmp/out" 2>"$py_tmp/err" </dev/null &
	local pid=$!
	for i in $(seq 100); do
		grep -q ready "$py_tmp/out" && break
		sleep 0.05
	done
	sleep 0.5
	timeout 40 "$MEMATTACH" --pid $pid --duration 5 $opt -q -o "$cap" >"$py_tmp/mout" 2>&1
	rc=$?
	touch "$py_tmp/stop"   # the target allocates until then: it outlives the capture
	for i in $(seq 200); do
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 $pid 2>/dev/null; then
		kill -9 $pid
		wait $pid
		echo "FAIL: the target did not finish after the capture (killed)"
		return 1
	fi
	wait $pid
	local prc=$?
	py_show "memattach" "$py_tmp/mout"
	py_show "target stderr" "$py_tmp/err"
	if [ $rc != 0 ] || [ $prc != 0 ]; then
		echo "FAIL: memattach --pid exited $rc, the target $prc"
		return 1
	fi
	local slept
	slept=$(sed -n 's/^SLEPT //p' "$py_tmp/out")
	echo "slept $slept s of $sleep_s"
	if ! awk -v s="$slept" -v w=$sleep_s 'BEGIN { exit !(s >= w && s < w + 1) }'; then
		echo "FAIL: time.sleep($sleep_s) took $slept s under attach"
		return 1
	fi
	"$PYEVENTS" "$cap" 1000 >"$py_tmp/events" || return 1
	"$CHECKPY" "$py_here/check.py" "$py_tmp/out" "$py_tmp/events" $kind
}

# py_wait_line FILE REGEX SECONDS: waits for a line of FILE to match.
py_wait_line() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(($3 * 20)) ] && return 1
		sleep 0.05
	done
}

# py_wait_exit PID SECONDS: waits for PID (a child of this shell) to end
# and sets py_rc to its status; kills it and returns 1 on timeout.
py_wait_exit() {
	local i=0
	while kill -0 "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 20)) ]; then
			kill -9 "$1" 2>/dev/null
			wait "$1" 2>/dev/null
			py_rc=killed
			return 1
		fi
		sleep 0.05
	done
	wait "$1"
	py_rc=$?
}

#!/bin/sh
# memattach --pid --duration on Python processes caught in various states,
# with every CPython present (pyenv 3.8-3.13 and /usr/bin/python3); see
# states.py.  Each time: memattach exits 0, a SIGUSR1 sent right after the
# attach allocates from known lines that the capture must show with their
# Python frames (check.py), and after the detach the process carries on
# exactly:
#   stdin    still blocked in read(); then returns the very line written
#   accept   still blocked in accept(); then receives the very bytes sent
#   loop     still running; its count and LCG state agree (jump-ahead)
#   cext     a C call holds the GIL (a read that ends when the test writes),
#            with --trace-python-allocators: a capture inside the call, one
#            from inside to after it (see st_cext); and a capture over
#            before the call ends must leave the allocators as they were
#            (st_cext_late)
#   threads  4 threads allocate 5 known blocks each while captured ("go"
#            on stdin instead of SIGUSR1)
# MA_STATES="st_stdin st_loop" runs some of them only.
. "$(dirname "$0")/common.sh"
# Captures end when the test says (SIGINT) once the target has done what
# it must do while captured; DUR only bounds them.
DUR=${MA_STATES_DURATION:-600}
tpid= mpid=

cleanup() {
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null
	[ -n "$mpid" ] && kill -9 "$mpid" 2>/dev/null
	tpid= mpid=
	exec 3>&-
	return 1
}

# st_start PY MODE SIZE: starts states.py with its stdin from a fifo that
# this shell holds open on fd 3 (no end of file until we say so).
st_start() {
	# out too: the child truncates it only once it runs, and a wait could
	# meet the last case's lines.
	rm -f "$py_tmp/fifo" "$py_tmp/got" "$py_tmp/cap" "$py_tmp/out"
	mkfifo "$py_tmp/fifo" || return 1
	exec 3<>"$py_tmp/fifo"
	"$1" "$py_here/states.py" "$2" "$py_tmp/got" "$3" <"$py_tmp/fifo" \
		>"$py_tmp/out" 2>"$py_tmp/err" &
	tpid=$!
	if ! py_wait_line "$py_tmp/out" '^ready' 20; then
		py_show "target stderr" "$py_tmp/err"
		echo "FAIL: states.py $2 did not start"
		return 1
	fi
}

# st_syscall NRS: waits until the target's main thread sits in one of the
# syscalls NRS (a grep pattern).
st_syscall() {
	local i=0
	while ! grep -q "^\($1\) " "/proc/$tpid/syscall" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			echo "FAIL: not blocked in syscall $1: $(cat "/proc/$tpid/syscall" 2>&1)"
			return 1
		fi
		sleep 0.05
	done
}

# st_attach DURATION [OPTS]: memattach --pid in the background, until it
# says it is tracking.
st_attach() {
	local d=$1
	shift
	t_attach=$(date +%s.%N)
	: >"$py_tmp/merr"   # the last capture's "tracking" line must not count
	"$MEMATTACH" --pid "$tpid" --duration "$d" "$@" -o "$py_tmp/cap" \
		>"$py_tmp/mout" 2>"$py_tmp/merr" </dev/null &
	mpid=$!
	local i=0
	while ! grep -q 'tracking pid' "$py_tmp/merr"; do
		i=$((i + 1))
		if ! kill -0 "$mpid" 2>/dev/null || [ $i -gt 400 ]; then
			py_show memattach "$py_tmp/merr"
			echo "FAIL: memattach --pid $* did not start tracking"
			return 1
		fi
		sleep 0.05
	done
	t_tracking=$(date +%s.%N)
}

# st_grabbed: SIGUSR1: the handler's allocation is made while memattach
# still runs.
st_grabbed() {
	kill -USR1 "$tpid"
	if ! py_wait_line "$py_tmp/out" '^GRABBED' 10; then
		echo "FAIL: the SIGUSR1 handler did not run"
		return 1
	fi
	if ! kill -0 "$mpid" 2>/dev/null; then
		echo "FAIL: the capture ended before the handler's allocation"
		return 1
	fi
}

# st_stop: memattach is told to stop (SIGINT, as Ctrl-C), and ends with
# status 0.
st_stop() {
	kill -INT "$mpid"
	st_detached
}

# st_detached: memattach ends by itself, with status 0.
st_detached() {
	if ! py_wait_exit "$mpid" 30; then
		py_show memattach "$py_tmp/merr"
		echo "FAIL: memattach did not end (killed after 30 s)"
		return 1
	fi
	mpid=
	if [ "$py_rc" != 0 ]; then
		py_show memattach "$py_tmp/merr"
		echo "FAIL: memattach exited $py_rc"
		return 1
	fi
}

# st_end: the target exits 0 within 20 s.
st_end() {
	if ! py_wait_exit "$tpid" 20; then
		py_show "target stdout" "$py_tmp/out"
		echo "FAIL: the target did not finish (killed)"
		return 1
	fi
	tpid=
	exec 3>&-
	if [ "$py_rc" != 0 ]; then
		py_show "target stderr" "$py_tmp/err"
		echo "FAIL: the target exited $py_rc"
		return 1
	fi
	py_show "target stderr" "$py_tmp/err"
	if [ -s "$py_tmp/err" ]; then
		echo "FAIL: the target wrote to stderr"
		return 1
	fi
}

# st_events [KIND]: the capture against the target's TRUTH lines.
st_events() {
	"$PYEVENTS" "$py_tmp/cap" 500 >"$py_tmp/events" || { echo "FAIL: pyevents"; return 1; }
	"$CHECKPY" "$py_here/check.py" "$py_tmp/out" "$py_tmp/events" "$@" && return
	py_show "events of 500 B or more with Python frames" "$py_tmp/events"
	py_show memattach "$py_tmp/merr"
	"$MEMATTACH" report summary --native --max 8 "$py_tmp/cap" >"$py_tmp/sum" 2>&1
	py_show "report summary --native" "$py_tmp/sum"
	return 1
}

st_stdin() {
	echo "=== $1: blocked in sys.stdin.readline()"
	st_start "$1" stdin 1234601 || return 1
	st_syscall 0 || return 1   # read
	st_attach "$DUR" && st_grabbed && st_stop || return 1
	# The handler ran in the middle of the read: Python restarted it.
	st_syscall 0 || return 1
	[ -e "$py_tmp/got" ] && { echo "FAIL: readline returned before anything was written"; return 1; }
	printf 'after the detach %s: caf\303\251\t\001 end\n' $$ >"$py_tmp/payload"
	cat "$py_tmp/payload" >&3
	st_end || return 1
	if ! cmp "$py_tmp/payload" "$py_tmp/got"; then
		echo "FAIL: readline returned something else than the line written:"
		od -c "$py_tmp/got" | head -5
		return 1
	fi
	st_events
}

st_accept() {
	echo "=== $1: blocked in socket.accept()"
	st_start "$1" accept 1234621 || return 1
	st_syscall '43\|288' || return 1   # accept, accept4
	st_attach "$DUR" && st_grabbed && st_stop || return 1
	st_syscall '43\|288' || return 1
	local port
	port=$(sed -n 's/^port //p' "$py_tmp/out")
	"$CHECKPY" -c 'import sys
open(sys.argv[1], "wb").write(bytes(range(256)) * 40 + sys.argv[2].encode())' \
		"$py_tmp/payload" "$$" || return 1
	"$CHECKPY" -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(open(sys.argv[2], "rb").read())
s.close()' "$port" "$py_tmp/payload" || { echo "FAIL: could not connect to port $port"; return 1; }
	st_end || return 1
	if ! cmp "$py_tmp/payload" "$py_tmp/got"; then
		echo "FAIL: the bytes received differ from the $(wc -c <"$py_tmp/payload") sent"
		return 1
	fi
	st_events
}

# utime PID: user CPU ticks of PID.
utime() { sed 's/^.*) //' "/proc/$1/stat" | cut -d' ' -f12; }

st_loop() {
	echo "=== $1: counting in a pure-Python loop"
	st_start "$1" loop 1234641 || return 1
	sleep 0.2
	st_attach "$DUR" && st_grabbed && st_stop || return 1
	# Still counting after the detach.
	local u0 u1 i
	u0=$(utime "$tpid")
	for i in $(seq 200); do   # 10 s at most: a loaded machine may give it no tick for a while
		sleep 0.05
		u1=$(utime "$tpid")
		[ "$u1" -gt "$u0" ] && break
	done
	if [ "$u1" -le "$u0" ]; then
		echo "FAIL: the loop does not run after the detach (utime $u0 -> $u1 in 10 s, state $(grep State "/proc/$tpid/status"))"
		return 1
	fi
	kill -USR2 "$tpid"
	st_end || return 1
	local count
	count=$(sed -n 's/^COUNT //p' "$py_tmp/out")
	echo "count, state: $count"
	# x after n steps of x -> A x + C (mod 2^64) from 1, by composing the
	# affine map with itself (log n steps): must be the loop's own x.
	if ! "$CHECKPY" -c 'import sys
n, x = map(int, sys.argv[1:3])
A, C, M = 6364136223846793005, 1442695040888963407, 1 << 64
a, c, ra, rc, k = A, C, 1, 0, n
while k:
    if k & 1:
        ra, rc = a * ra % M, (a * rc + c) % M
    a, c, k = a * a % M, (a * c + c) % M, k >> 1
sys.exit(0 if n > 0 and (ra * 1 + rc) % M == x else 1)' $count; then
		echo "FAIL: the loop's count and state disagree (an iteration lost or repeated)"
		return 1
	fi
	st_events
}

# st_threads_back N: waits (20 s at most) until the target has N threads:
# the agent's own (the writer, those waiting for the GIL) are gone.
st_threads_back() {
	local i=0
	while [ "$(ls "/proc/$tpid/task" | wc -l)" != "$1" ]; do
		i=$((i + 1))
		if [ $i -gt 400 ]; then
			echo "FAIL: the agent's threads are still there 20 s after the call: $(ls "/proc/$tpid/task" | wc -l) threads"
			return 1
		fi
		sleep 0.05
	done
}

# st_call_end: the GIL-holding read gets its byte; the target says CALL.
st_call_end() {
	printf x >&3
	if ! py_wait_line "$py_tmp/out" '^CALL ' 20; then
		echo "FAIL: the call did not end when its byte came"
		return 1
	fi
	if ! grep -q "^CALL b'x'\$" "$py_tmp/out"; then
		echo "FAIL: the call returned something else than the byte written: $(grep '^CALL' "$py_tmp/out")"
		return 1
	fi
}

# With --trace-python-allocators the agent's thread that installs the PyMem
# wrappers waits for the GIL, which the target's call holds (a read that
# lasts until this test writes its byte: the target, not the clock, says
# when the call ends).  A first capture begins and ends inside the call
# (memattach must not wait for the GIL; the target is still in the read
# after it), a second one begins inside it and goes on after it: the
# wrappers come (the target sees them: WRAPPED), its allocations are
# captured, and once it is over they go (RESTORED) and the agent's
# threads are gone.
st_cext() {
	echo "=== $1: inside one C call holding the GIL (--trace-python-allocators)"
	st_start "$1" cext 1234661 || return 1
	st_syscall 0 || return 1   # read, with the GIL
	st_attach 0.3 --trace-python-allocators && st_detached || return 1
	st_syscall 0 || { echo "FAIL: the first capture did not end inside the call"; return 1; }
	st_attach "$DUR" --trace-python-allocators || return 1
	st_syscall 0 || { echo "FAIL: the second capture did not begin inside the call"; return 1; }
	st_call_end || return 1
	if ! py_wait_line "$py_tmp/out" '^WRAPPED' 20; then
		echo "FAIL: the PyMem wrappers did not come within 20 s of the call's end"
		return 1
	fi
	st_grabbed && st_stop || return 1
	if ! py_wait_line "$py_tmp/out" '^RESTORED' 20; then
		echo "FAIL: the PyMem wrappers were still installed 20 s after the detach"
		return 1
	fi
	st_threads_back 1 || return 1
	kill -USR2 "$tpid"
	st_end || return 1
	if ! grep -q '^ALLOCATORS as before$' "$py_tmp/out"; then
		echo "FAIL: the PyMem allocators were not restored after the captures"
		return 1
	fi
	st_events || return 1
	# The wrappers came once the call let the GIL go: the lists that
	# idle_until_stop makes while the capture lasts, as PyMem events.
	"$PYEVENTS" "$py_tmp/cap" 0 >"$py_tmp/all" || return 1
	if ! awk -F '\t' '$3 ~ /^idle_until_stop states.py:[0-9]+\|/ && $5 ~ /^pymem_/ { ok = 1 }
		END { exit !ok }' "$py_tmp/all"; then
		grep 'pymem_' "$py_tmp/all" >"$py_tmp/pm"
		py_show "the capture's PyMem events" "$py_tmp/pm"
		echo "FAIL: no PyMem event from idle_until_stop: the wrappers were never installed"
		return 1
	fi
}

# A --trace-python-allocators capture that begins and ends inside the call
# and nothing after it: the agent's thread that waited for the GIL must
# not install the wrappers once it gets it (the capture is over).  The
# test waits until that thread is gone (it has had the GIL), then the
# target says whether it ever saw other allocators.
st_cext_late() {
	echo "=== $1: a --trace-python-allocators capture over before the GIL comes back"
	st_start "$1" cext 1234661 || return 1
	st_syscall 0 || return 1
	st_attach 0.3 --trace-python-allocators && st_detached || return 1
	st_syscall 0 || { echo "FAIL: the capture did not end inside the call"; return 1; }
	st_call_end || return 1
	st_threads_back 1 || return 1
	kill -USR2 "$tpid"
	st_end || return 1
	if grep -q '^WRAPPED' "$py_tmp/out" || ! grep -q '^ALLOCATORS as before$' "$py_tmp/out"; then
		echo "FAIL: the PyMem allocators changed after a capture that had ended: wrappers installed late"
		return 1
	fi
}

st_threads() {
	echo "=== $1: 4 threads allocating while captured"
	st_start "$1" threads 0 || return 1
	st_attach "$DUR" || return 1
	echo go >&3
	if ! py_wait_line "$py_tmp/out" '^DONE' 10; then
		echo "FAIL: the threads did not finish their allocations"
		return 1
	fi
	kill -0 "$mpid" 2>/dev/null || { echo "FAIL: the capture ended before the threads allocated"; return 1; }
	st_stop || return 1
	echo quit >&3
	st_end || return 1
	st_events
}

fail=0 n=0
for py in $(all_pythons); do
	n=$((n + 1))
	t=$(date +%s.%N)
	for st in ${MA_STATES:-st_stdin st_accept st_loop st_cext st_cext_late st_threads}; do
		$st "$py" || { cleanup; fail=1; }
	done
	echo "--- $py: $(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
done
if [ $n = 0 ]; then
	echo "SKIP: no CPython 3.8-3.13 (pyenv or /usr/bin/python3)"
	exit 77
fi
exit $fail

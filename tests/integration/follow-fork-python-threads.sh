#!/bin/sh
# follow-fork-python-threads.sh — Python thread names in followed children
# (memattach run --follow-fork, then --pid --follow-fork): a Python master
# forks 2 workers with os.fork(); each worker's main thread allocates a
# bytearray, then starts 2 named threads that allocate one each (sizes all
# distinct) and stay alive until the test has seen their names in the
# worker's capture.  In each worker's capture CAP.<pid>, the allocation of
# each known size is made by the thread with the Python name of the thread
# that made it (MainThread for the forking thread, whose name comes from
# the parent).  Uses tests/python/pyevents (--threads: a capture's thread
# names, also while it is written).
. "$(dirname "$0")/common.sh"

PYEVENTS=$ma_builddir/tests/python/pyevents
[ -x "$PYEVENTS" ] || { echo "FAIL: $PYEVENTS not built"; exit 1; }

cat >"$ma_tmp/server.py" <<'PY'
import os, sys, threading, time
go, start = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None
def wait_file(path):
    while not os.path.exists(path):
        time.sleep(0.02)
def say(*a):
    os.write(1, (" ".join(str(x) for x in a) + "\n").encode())
def work(n):
    buf = bytearray(n)
    say("THREAD", os.getpid(), threading.get_native_id(), n + 1, threading.current_thread().name)
    wait_file(go)
if start:
    say("ready", os.getpid())
    wait_file(start)
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        base = 1000003 + 100000 * i
        ts = [threading.Thread(target=work, args=(base + 12 * (k + 1),), name="worker%d-thread%d" % (i, k))
              for k in range(2)]
        work_main = bytearray(base)
        say("THREAD", os.getpid(), threading.get_native_id(), base + 1, threading.current_thread().name)
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        os._exit(0)
    kids.append(pid)
bad = 0
for k in kids:
    bad |= os.waitpid(k, 0)[1] != 0
say("DONE", bad)
wait_file(go)
sys.exit(1 if bad else 0)
PY

# names_ok CAPDIR: every THREAD line's tid carries its name in CAP.<pid>.
names_ok() {
	local pid tid n name got
	[ "$(grep -c '^THREAD ' "$ma_tmp/out")" = 6 ] || return 1
	while read -r _ pid tid n name; do
		got=$("$PYEVENTS" --threads "$1.$pid" 2>/dev/null | awk -F'\t' -v t="$tid" '$1 == t { print $2 }')
		[ "$got" = "$name" ] || return 1
	done <<EOT
$(grep '^THREAD ' "$ma_tmp/out")
EOT
}

# check CAP: each known allocation made by the thread of its name.
check() {
	local bad=0 pid tid n name got
	while read -r _ pid tid n name; do
		got=$("$PYEVENTS" --threads "$1.$pid" | awk -F'\t' -v t="$tid" '$1 == t { print $2 }')
		[ "$got" = "$name" ] || { echo "FAIL: pid $pid: thread $tid is named '$got' in its capture, want '$name'"; bad=1; }
		got=$("$PYEVENTS" "$1.$pid" 1000000 | awk -F'\t' -v n="$n" '$1 == n { print $2 }')
		[ "$got" = "$tid" ] || { echo "FAIL: pid $pid: the $n bytes of thread $name were made by thread '$got', want $tid"; bad=1; }
	done <<EOT
$(grep '^THREAD ' "$ma_tmp/out")
EOT
	return "$bad"
}

# wait_names CAP: until the names are in the workers' captures (30 s at most).
wait_names() {
	local i
	for i in $(seq 300); do
		names_ok "$1" && return 0
		sleep 0.1
	done
	echo "(the names never all came; going on to show what the captures have)"
}

bad=0
echo "=== memattach run --follow-fork -- python3 server.py"
rm -f "$ma_tmp/go"
"$MEMATTACH" run --follow-fork -o "$ma_tmp/run.cap" -- "$PYTHON" "$ma_tmp/server.py" "$ma_tmp/go" \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null &
mpid=$!
wait_names "$ma_tmp/run.cap"
touch "$ma_tmp/go"
wait "$mpid"
rc=$?
ma_show "server stdout" "$ma_tmp/out"
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc"; bad=1; }
grep -q '^DONE 0$' "$ma_tmp/out" || { echo "FAIL: a worker died"; bad=1; }
check "$ma_tmp/run.cap" || bad=1

echo "=== memattach --pid MASTER --follow-fork"
rm -f "$ma_tmp/go" "$ma_tmp/start" "$ma_tmp/out"   # out: the run's "ready" must not end the wait
"$PYTHON" "$ma_tmp/server.py" "$ma_tmp/go" "$ma_tmp/start" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
tpid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 30 || { echo "FAIL: the server did not get ready"; kill "$tpid"; exit 1; }
: >"$ma_tmp/err"   # the run's lines must not end the wait below
"$MEMATTACH" --pid "$tpid" --follow-fork -o "$ma_tmp/pid.cap" >"$ma_tmp/mout" 2>"$ma_tmp/err" </dev/null &
mpid=$!
ma_wait_for "$ma_tmp/err" 'tracking 1 process' 60 || { echo "FAIL: memattach did not attach"; kill "$tpid" "$mpid"; exit 1; }
touch "$ma_tmp/start"
wait_names "$ma_tmp/pid.cap"
kill -INT "$mpid"
wait "$mpid"
rc=$?
touch "$ma_tmp/go"
wait "$tpid"
ma_show "server stdout" "$ma_tmp/out"
ma_show "stderr" "$ma_tmp/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach --pid --follow-fork exited $rc"; bad=1; }
grep -q '^DONE 0$' "$ma_tmp/out" || { echo "FAIL: a worker died"; bad=1; }
check "$ma_tmp/pid.cap" || bad=1

[ "$bad" = 0 ] && echo "follow-fork-python-threads: every thread of the forked workers named as in Python, with its own allocation"
exit "$bad"

#!/bin/sh
# seccomp-skip.sh — the injector moves off the main thread only to a
# thread whose own seccomp filter lets every call of the injection through
# (ma_inj_thread_seccomp_ok).  tests/targets/seccomp_skip: the main thread
# waits inside a signal handler (no safe point there), thread A's filter
# kills the process on socket (the agent's thread makes it, and inherits
# the filters of the thread the injection ran on; no hook makes it),
# thread B has none.  The injector tries A
# first (tid order) and must pass it over for B: the target lives, the
# agent's threads have no filter (they inherit the injecting thread's),
# and the capture is exact, each thread's blocks under its own function.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "${tpid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (seccomp filters are read with ptrace as root)"
	exit 77
fi

"$TARGETS/seccomp_skip" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
tpid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 10 || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target did not start"; fail; }
set -- $(sed -n 's/^ready //p' "$ma_tmp/out")
ta=$2 tb=$3
if [ "$ta" -gt "$tb" ]; then   # the pid counter wrapped between them
	kill -9 "$tpid"
	echo "SKIP: thread A's tid $ta is above thread B's $tb: the injector would try B first"
	exit 77
fi
grep -q '^Seccomp:[[:space:]]*2' "/proc/$tpid/task/$ta/status" || { echo "FAIL: thread A has no filter"; fail; }
grep -q '^Seccomp:[[:space:]]*0' "/proc/$tpid/task/$tb/status" || { echo "FAIL: thread B has a filter"; fail; }

attach_bg "$tpid" "$ma_tmp/s.cap" || fail
# every thread but A, the agent's too, without a filter
filtered=$(grep -l '^Seccomp:[[:space:]]*2' /proc/"$tpid"/task/*/status | sed 's|.*/task/\([0-9]*\)/status|\1|')
nthreads=$(ls /proc/"$tpid"/task | wc -l)
[ "$filtered" = "$ta" ] || { echo "FAIL: threads with a filter: $filtered (want $ta only)"; fail; }
[ "$nthreads" -gt 3 ] || { echo "FAIL: $nthreads threads: the agent started none"; fail; }
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the workload did not finish"; fail; }
stop_attach || fail
kill -USR1 "$tpid"
wait_gone "$tpid" 30 && [ "$wrc" = 0 ] || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target exited $wrc (want 0)"; fail; }
ma_show "memattach stderr" "$ma_tmp/merr"
grep '^{"total_allocations"' "$ma_tmp/out" >"$ma_tmp/truth"
report_json "$ma_tmp/s.cap" "$ma_tmp/s.json" || exit 1
"$PYTHON" "$ma_here/compare.py" "$ma_tmp/truth" "$ma_tmp/s.json" || exit 1
"$MEMATTACH" report summary --json "$ma_tmp/s.cap" >"$ma_tmp/sum.json" || exit 1
"$PYTHON" - "$ma_tmp/sum.json" <<'PY' || exit 1
import json, sys
got = {t["function"]: (t["own_bytes"], t["own_count"]) for t in json.load(open(sys.argv[1]))["top"]}
want = {"a_keep": (60000, 30), "b_keep": (30000, 20), "main_keep": (2500, 5)}
if got != want:
    print(f"FAIL: own bytes, blocks by function {got}, want {want}")
    sys.exit(1)
PY
echo "seccomp-skip: the injection passed over thread $ta (its filter kills on socket) for thread $tb; the capture exact"

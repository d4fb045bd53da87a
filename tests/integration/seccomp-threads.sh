#!/bin/sh
# seccomp-threads.sh — a target whose second thread alone runs under a
# seccomp filter (tests/targets/seccomp_thread: installed by that thread
# without TSYNC; the main thread, and so the process's /proc status, has
# none).  Every thread's filter is read and judged:
#   gettid kill   the agent's hooks call gettid in every thread that
#                 allocates: refused (exit 11, naming the thread, gettid
#                 and the action) before anything is done, and the target
#                 runs its workload and exits 0 (attached, it was killed);
#   socket kill   only the agent's own threads open a socket, and they are
#                 started from the main thread's filter: attached, the
#                 capture exact with both threads' functions.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "${tpid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (seccomp filters are read with ptrace as root)"
	exit 77
fi

# st_start SYSCALL ACTION — the target, ready; tpid.
st_start() {
	echo "=== seccomp_thread $1 $2"
	: >"$ma_tmp/out"
	"$TARGETS/seccomp_thread" --wait-signal "$1" "$2" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
	tpid=$!
	ma_wait_for "$ma_tmp/out" '^ready ' 10 || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target did not start"; fail; }
	grep -q '^Seccomp:[[:space:]]*0' "/proc/$tpid/status" || { echo "FAIL: the main thread has a filter"; fail; }
	[ "$(grep -l '^Seccomp:[[:space:]]*2' /proc/"$tpid"/task/*/status | wc -l)" = 1 ] ||
		{ echo "FAIL: not exactly one thread with a filter"; fail; }
}

# st_finish — the workload, the truth, exit 0.
st_finish() {
	kill -USR1 "$tpid"
	ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 ||
		{ ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the workload did not finish"; fail; }
	kill -USR1 "$tpid"
	wait_gone "$tpid" 30 && [ "$wrc" = 0 ] ||
		{ ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target exited $wrc (want 0)"; fail; }
}

st_start gettid kill
ftid=$(grep -l '^Seccomp:[[:space:]]*2' /proc/"$tpid"/task/*/status | sed 's|.*/task/\([0-9]*\)/status|\1|')
timeout 60 "$MEMATTACH" --pid "$tpid" --duration 5 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$rc" = 11 ] || { echo "FAIL: memattach exited $rc (want 11)"; st_finish; fail; }
grep -q "^memattach: a seccomp filter of thread $ftid of process $tpid forbids gettid (it kills the process;" "$ma_tmp/merr" ||
	{ echo "FAIL: the message does not name thread $ftid, gettid and the action"; fail; }
agent_mapped "$tpid" && { echo "FAIL: the agent was loaded all the same"; fail; }
[ -e "$ma_tmp/r.cap" ] && { echo "FAIL: a capture was left"; fail; }
st_finish

# sched_yield: a hook that meets the writer's sweep yields; process_vm_readv:
# libunwind's address check in a hook's fallback walk; in any thread
for sc in sched_yield process_vm_readv; do
	st_start $sc kill
	ftid=$(grep -l '^Seccomp:[[:space:]]*2' /proc/"$tpid"/task/*/status | sed 's|.*/task/\([0-9]*\)/status|\1|')
	timeout 60 "$MEMATTACH" --pid "$tpid" --duration 5 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
	rc=$?
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = 11 ] && grep -q "^memattach: a seccomp filter of thread $ftid of process $tpid forbids $sc (it kills the process;" "$ma_tmp/merr" ||
		{ echo "FAIL: memattach exited $rc, want 11 naming thread $ftid and $sc"; st_finish; fail; }
	st_finish
done

st_start socket kill
attach_bg "$tpid" "$ma_tmp/s.cap" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the workload did not finish"; fail; }
stop_attach || fail
kill -USR1 "$tpid"
wait_gone "$tpid" 30 && [ "$wrc" = 0 ] || { echo "FAIL: the target exited $wrc (want 0)"; fail; }
ma_show "memattach stderr" "$ma_tmp/merr"
report_json "$ma_tmp/s.cap" "$ma_tmp/s.json" || exit 1
"$PYTHON" "$ma_here/compare.py" "$ma_tmp/out" "$ma_tmp/s.json" || exit 1
"$MEMATTACH" report summary --json "$ma_tmp/s.cap" >"$ma_tmp/sum.json" || exit 1
"$PYTHON" - "$ma_tmp/sum.json" <<'PY' || exit 1
import json, sys
got = {t["function"]: (t["own_bytes"], t["own_count"]) for t in json.load(open(sys.argv[1]))["top"]}
want = {"thread_keep": (60000, 30), "main_keep": (2500, 5)}
if got != want:
    print(f"FAIL: own bytes, blocks by function {got}, want {want}")
    sys.exit(1)
PY
echo "seccomp-threads: a thread's own filter that the hooks would trip refused by name; one only the agent's threads would, attached exactly"

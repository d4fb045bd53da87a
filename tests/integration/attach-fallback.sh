#!/bin/bash
# attach-fallback.sh — the old glibc's path (issue 13): a glibc older than
# 2.34 whose program did not load libpthread has no pthread_create to call,
# so the injector runs dlopen and the agent's start call on the thread it
# stopped.  This machine's glibc has it in libc: the injector's test hook
# MEMATTACH_TEST_NO_LOADER_THREAD=1 hides it, as that glibc would (the path
# after the symbol lookup is the old glibc's own).
#  1. tests/targets/hammer (5 threads in and out of malloc): the attach
#     says it took the old path, on which thread and how long it stopped
#     it; a counted round is exact; the hammer exits 0 (no corrupted block).
#  2. the stop it reports is the one the target saw: tests/threshold/spingap
#     times its spinning threads.  The thread memattach names had a gap
#     between two readings of its clock at least as long as the stop
#     reported (-0.5 ms: the interrupt's way to the thread, the rounding),
#     and was away from its own code (the gap less the time it waited for
#     a CPU and less its CPU time, the injected calls' included) no longer
#     than that (+0.2 ms: the rounding and one spin).
#     The agent's start call ran within the stop: the agent's own timing of
#     it (agent_start_call_ns, in both captures) is no longer than the stop
#     reported (+0.05 ms: the rounding).
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "${hpid:-}" "${mpid:-}" "${gp:-}" 2>/dev/null; exit 1; }
note="^memattach: note: process %s has no pthread_create to call (glibc older than 2.34 without libpthread): the agent was loaded on its thread \([0-9]*\), stopped for up to \([0-9.]*\) ms$"

# fallback_attach PID CAP — attach_bg through the old path; sets ftid and
# fms from memattach's note.
fallback_attach() {
	MEMATTACH_TEST_NO_LOADER_THREAD=1 attach_bg "$1" "$2" || return 1
	ma_show "memattach stderr" "$ma_tmp/merr"
	local pat
	# shellcheck disable=SC2059  # the pattern is the format
	pat=$(printf "$note" "$1")
	ftid=$(sed -n "s/$pat/\1/p" "$ma_tmp/merr")
	fms=$(sed -n "s/$pat/\2/p" "$ma_tmp/merr")
	[ -n "$ftid" ] && [ -n "$fms" ] || { echo "FAIL: memattach did not say it took the old path"; return 1; }
	[ -d "/proc/$1/task/$ftid" ] || { echo "FAIL: thread $ftid is not the target's"; return 1; }
}

# start_call_within JSON — the start call's wall time <= the stop reported.
start_call_within() {
	local ns
	ns=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["agent_start_call_ns"])' "$1") || return 1
	echo "--- the agent's start call took $(awk -v s="$ns" 'BEGIN { printf "%.2f", s / 1e6 }') ms of the $fms ms stop"
	fcmp "$ns > 0 && $ns / 1e6 <= $fms + 0.05" || { echo "FAIL: the start call ran longer than the stop memattach said"; return 1; }
}

echo "=== hammer, attached through the old path; counted round 1 exact"
start_hammer || fail
fallback_attach "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 1 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 1 || exit 1
start_call_within "$ma_tmp/h.json" || exit 1

echo "=== spingap, attached through the old path: the stop it reports, as the target saw it"
"$ma_builddir/tests/threshold/spingap" >"$ma_tmp/gout" 2>"$ma_tmp/gerr" </dev/null &
gp=$!
ma_wait_for "$ma_tmp/gout" '^ready ' 10 || { echo "FAIL: spingap did not start"; fail; }
read -r _ _ seized other < <(grep '^ready ' "$ma_tmp/gout")
kill -USR1 "$gp"
ma_wait_for "$ma_tmp/gout" '^open 1$' 10 || { echo "FAIL: the window did not open"; fail; }
fallback_attach "$gp" "$ma_tmp/g.cap" || fail
kill -USR1 "$gp"
ma_wait_for "$ma_tmp/gout" "^window 1 tid=$other " 10 || { echo "FAIL: the window did not close"; fail; }
stop_attach || fail
kill -TERM "$gp"
wait "$gp"
[ "$ftid" = "$seized" ] || [ "$ftid" = "$other" ] || { echo "FAIL: thread $ftid is not a spinning thread"; fail; }
stolen=$(sed -n "s/^window 1 tid=$ftid stolen_ns=\([0-9]*\) .*/\1/p" "$ma_tmp/gout")
gap=$(sed -n "s/^window 1 tid=$ftid stolen_ns=[0-9]* gap_ns=\([0-9]*\)$/\1/p" "$ma_tmp/gout")
echo "--- thread $ftid: longest gap $(awk -v s="$gap" 'BEGIN { printf "%.2f", s / 1e6 }') ms, away from its code $(awk -v s="$stolen" 'BEGIN { printf "%.2f", s / 1e6 }') ms; memattach says stopped for up to $fms ms"
fcmp "$stolen / 1e6 <= $fms + 0.2" || { echo "FAIL: the thread was away longer than memattach said"; exit 1; }
report_json "$ma_tmp/g.cap" "$ma_tmp/g.json" || exit 1
start_call_within "$ma_tmp/g.json" || exit 1
echo "attach-fallback: exact through the old path, its stop reported as the target saw it"

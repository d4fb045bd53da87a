#!/bin/sh
# inject-killed-vector.sh — the injector SIGKILLed at every step of an
# injection (MEMATTACH_TEST_KILL_AT_STEP, through inj_once) into a target
# that keeps a pattern in a vector register no code of its own touches
# (zmm16 with AVX-512, else all of ymm15): the register must come back
# whole however the thread is handed back (the tracer's restore, or the
# rt_sigreturn frame of a call whose tracer vanished; that frame's XSAVE
# image must be one the kernel takes, else it restores only the FXSAVE
# part and zeroes the rest).  Skipped without AVX.
. "$(dirname "$0")/inject-faults.sh"
fail() { ma_show "inj_target vector" "$ma_tmp/vout"; kill -9 "$tpid" 2>/dev/null; exit 1; }

"$ma_builddir/tests/injector/inj_target" vector >"$ma_tmp/vout" 2>&1 </dev/null &
tpid=$!
ma_wait_for "$ma_tmp/vout" '^ready$\|^novector$' 10 || { echo "FAIL: inj_target vector did not start"; fail; }
grep -q '^novector$' "$ma_tmp/vout" && { echo "SKIP: no AVX"; exit 77; }
n=0 n_dead=0 n_stopped=0 n_traced=0 n_stuck=0
for step in $ALL_STEPS; do
	MEMATTACH_TEST_KILL_AT_STEP=$step timeout 60 "$INJ_ONCE" "$tpid" "$INJ_LIB" test_entry \
		>"$ma_tmp/iout" 2>&1
	grep -q 'abandoned' "$ma_tmp/iout" ||
		{ echo "FAIL: step $step was not reached: $(cat "$ma_tmp/iout")"; fail; }
	# the target prints VECTORLOST and exits when the register changed
	target_ok "hook kill at step $step" quick || fail
	n=$((n + 1))
done
kill -TERM "$tpid"
wait_gone "$tpid" 30 || { echo "FAIL: inj_target vector did not exit"; fail; }
[ "$wrc" = 0 ] && grep -q '^ok .* rounds>0=1$' "$ma_tmp/vout" ||
	{ echo "FAIL: inj_target vector exited $wrc"; fail; }
echo "inject-killed-vector: $(sed -n 's/^ok \([a-z0-9]*\) .*/\1/p' "$ma_tmp/vout") intact after $n injections killed at every step"

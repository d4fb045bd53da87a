#!/bin/sh
# inject-limits.sh — the target cannot give the attach what it needs
# (issue 13): memattach --pid exits 22 with one line naming the limit, the
# target's /proc/PID/maps are the same before and after (nothing loaded,
# no page left: the stub's page is unmapped again), and the target runs
# on: once its limits are raised, an attach captures a counted round
# exactly and the hammer exits 0 (no block corrupted).
#  - RLIMIT_AS at the target's size: the stub page's mmap fails;
#  - RLIMIT_AS one page above: the stub is mapped, the loader thread's
#    page is not (the stub must go again);
#  - RLIMIT_NPROC at its thread count: pthread_create fails.  glibc keeps
#    the stack it mapped for the thread in its own cache (as for any
#    failed pthread_create of the program), so a thread has ended before
#    (counted round 1, unattached): the new one takes that cached stack
#    and the maps compare exactly.
# The hammer runs as a uid of its own, unused (RLIMIT_NPROC counts the
# user's tasks; root is exempt), which also sets the limits (prlimit needs
# the same uid without CAP_SYS_RESOURCE).  Needs root.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "${hpid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (to run the target as a uid of its own)"; exit 77; }
command -v setpriv >/dev/null && command -v prlimit >/dev/null ||
	{ echo "SKIP: setpriv and prlimit (util-linux) are needed"; exit 77; }
uid=$((3100000 + $$ % 100000))
as="setpriv --reuid=$uid --regid=$uid --clear-groups"
$as test -x "$TARGETS/hammer" || { echo "SKIP: uid $uid cannot execute $TARGETS/hammer"; exit 77; }

$as "$TARGETS/hammer" >"$ma_tmp/hout" 2>"$ma_tmp/herr" </dev/null &
hpid=$!
ma_wait_for "$ma_tmp/hout" '^ready ' 10 || { echo "FAIL: hammer did not start"; fail; }
ma_wait_for "$ma_tmp/hout" "^hammer tid=$hpid " 10 || fail

# refused WHAT — memattach --pid exits 22 saying WHAT (a grep pattern),
# in one line, and the target's maps are unchanged.
refused() {
	cp "/proc/$hpid/maps" "$ma_tmp/maps0" || fail
	timeout 60 "$MEMATTACH" --pid "$hpid" --duration 1 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
	rc=$?
	cp "/proc/$hpid/maps" "$ma_tmp/maps1" || fail
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = 22 ] || { echo "FAIL: memattach exited $rc (want 22)"; return 1; }
	[ "$(wc -l <"$ma_tmp/merr")" = 1 ] || { echo "FAIL: the message is not one line"; return 1; }
	grep -q "^memattach: process $hpid $1.*; nothing was loaded and it runs on; raise its limit" "$ma_tmp/merr" ||
		{ echo "FAIL: the message does not say: $1"; return 1; }
	if ! cmp -s "$ma_tmp/maps0" "$ma_tmp/maps1"; then
		echo "FAIL: the target's maps changed:"
		diff "$ma_tmp/maps0" "$ma_tmp/maps1" | head -n 20
		return 1
	fi
	[ -e "$ma_tmp/r.cap" ] && { echo "FAIL: a capture was left"; return 1; }
	kill -0 "$hpid" || { echo "FAIL: the target is gone"; return 1; }
	echo "--- refused, maps unchanged ($(wc -l <"$ma_tmp/maps1") mappings)"
}

# soft RES — the target's soft limit of RES (as, nproc), to restore it.
soft() { $as prlimit --pid "$hpid" --"$1" -o SOFT --noheadings --raw; }
as0=$(soft as) && nproc0=$(soft nproc) || fail

vm_bytes() { echo $(($(sed -n 's/^VmSize:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$hpid/status") * 1024)); }

echo "=== RLIMIT_AS at the target's size: the stub page cannot be mapped"
$as prlimit --pid "$hpid" --as="$(vm_bytes):" || fail
refused "could not map one page for the attach (mmap: Cannot allocate memory): it is at its address-space limit (RLIMIT_AS)" || fail

echo "=== RLIMIT_AS one page above: the stub is mapped, the loader thread's page is not"
$as prlimit --pid "$hpid" --as="$(($(vm_bytes) + 4096)):" || fail
refused "could not map one page for the attach (mmap: Cannot allocate memory)" || fail
$as prlimit --pid "$hpid" --as="$as0:" || fail

echo "=== RLIMIT_NPROC at its thread count: pthread_create fails"
hammer_round 1 || fail   # a thread's stack in glibc's cache (see above)
$as prlimit --pid "$hpid" --nproc="$(ls "/proc/$hpid/task" | wc -l):" || fail
refused "could not start a thread for the attach (pthread_create: Resource temporarily unavailable): it is at its thread limit (RLIMIT_NPROC" || fail
$as prlimit --pid "$hpid" --nproc="$nproc0:" || fail

echo "=== limits raised: an attach, counted round 2 exact"
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 2 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 2 || exit 1
echo "inject-limits: refused with exit 22 naming the limit, nothing left in the target, which ran on exactly"

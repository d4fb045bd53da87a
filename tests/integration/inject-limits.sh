#!/bin/sh
# inject-limits.sh — the target cannot give the attach what it needs
# (issue 13): memattach --pid exits 22 with one line naming the limit, the
# target's /proc/PID/maps are the same before and after (nothing loaded,
# no page left: the stub's page is unmapped again), and the target runs
# on unharmed:
#  - RLIMIT_AS at the target's size: the stub page's mmap fails;
#  - RLIMIT_AS one page above: the stub is mapped, the loader thread's
#    page is not (the stub must go again);
#  - RLIMIT_AS two pages above: both pages are mapped, the loader thread
#    starts on a cached stack (below), and its dlopen cannot map the
#    agent: the seized thread was released by then, the stub goes in a
#    second short stop once the loader thread is gone;
#  - RLIMIT_NPROC at its thread count: pthread_create fails.  glibc keeps
#    the stack it mapped for the thread in its own cache (as for any
#    failed pthread_create of the program), so in both targets a thread
#    has ended before: the new one takes that cached stack and the maps
#    compare exactly.
# The same refusal at a cgroup's pids.max: inject-pids-max.sh.
# Targets: tests/targets/errno_keeper, whose main thread (the one the
# injector seizes) checks its errno never changes (libc's mmap and
# pthread_create set it when they fail: exit 3 if it changed), and
# tests/targets/hammer, which after the refusals and with its limits
# raised gets a counted round captured exactly, and exits 0 (no block
# corrupted).
# The targets run as a uid of their own, unused (RLIMIT_NPROC counts the
# user's tasks; root is exempt), which also sets their limits (prlimit
# needs the same uid without CAP_SYS_RESOURCE).  Needs root.
. "$(dirname "$0")/inject-common.sh"
# unquoted: dash's kill stops at an empty argument, leaving the rest alive
fail() { kill -9 ${hpid:-} ${epid:-} ${mpid:-} 2>/dev/null; exit 1; }

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (to run the target as a uid of its own)"; exit 77; }
command -v setpriv >/dev/null && command -v prlimit >/dev/null ||
	{ echo "SKIP: setpriv and prlimit (util-linux) are needed"; exit 77; }
uid=$((3100000 + $$ % 100000))
as="setpriv --reuid=$uid --regid=$uid --clear-groups"
$as test -x "$TARGETS/hammer" || { echo "SKIP: uid $uid cannot execute $TARGETS/hammer"; exit 77; }

# soft PID RES — PID's soft limit of RES (as, nproc), to restore it.
soft() { $as prlimit --pid "$1" --"$2" -o SOFT --noheadings --raw; }
vm_bytes() { echo $(($(sed -n 's/^VmSize:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status") * 1024)); }

# at_limits PID — the three refusals, each limit restored after.
at_limits() {
	local as0 nproc0
	as0=$(soft "$1" as) && nproc0=$(soft "$1" nproc) || return 1
	echo "=== pid $1, RLIMIT_AS at its size: the stub page cannot be mapped"
	$as prlimit --pid "$1" --as="$(vm_bytes "$1"):" || return 1
	refused "$1" "could not map one page for the attach (mmap: Cannot allocate memory): it is at its address-space limit (RLIMIT_AS)" || return 1
	echo "=== pid $1, RLIMIT_AS one page above: the stub is mapped, the loader thread's page is not"
	$as prlimit --pid "$1" --as="$(($(vm_bytes "$1") + 4096)):" || return 1
	refused "$1" "could not map one page for the attach (mmap: Cannot allocate memory)" || return 1
	echo "=== pid $1, RLIMIT_AS two pages above: the loader thread starts (on a cached stack), its dlopen cannot map the agent"
	$as prlimit --pid "$1" --as="$(($(vm_bytes "$1") + 8192)):" || return 1
	refused "$1" "could not map the library for the attach (dlopen: .*): it is at its address-space limit (RLIMIT_AS)" || return 1
	$as prlimit --pid "$1" --as="$as0:" || return 1
	echo "=== pid $1, RLIMIT_NPROC at its thread count: pthread_create fails"
	$as prlimit --pid "$1" --nproc="$(ls "/proc/$1/task" | wc -l):" || return 1
	refused "$1" "could not start a thread for the attach (pthread_create: Resource temporarily unavailable): it is at its thread limit (RLIMIT_NPROC" || return 1
	$as prlimit --pid "$1" --nproc="$nproc0:"
}

echo "=== errno_keeper"
$as "$TARGETS/errno_keeper" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null &
epid=$!
ma_wait_for "$ma_tmp/eout" '^ready ' 10 || { echo "FAIL: errno_keeper did not start"; fail; }
at_limits "$epid" || fail
kill -USR2 "$epid"
wait_gone "$epid" 30 || { echo "FAIL: errno_keeper did not exit"; fail; }
ma_show "errno_keeper" "$ma_tmp/eout"
[ "$wrc" = 0 ] || { echo "FAIL: errno_keeper exited $wrc (3: its errno changed under it)"; fail; }

echo "=== hammer"
$as "$TARGETS/hammer" >"$ma_tmp/hout" 2>"$ma_tmp/herr" </dev/null &
hpid=$!
ma_wait_for "$ma_tmp/hout" '^ready ' 10 || { echo "FAIL: hammer did not start"; fail; }
ma_wait_for "$ma_tmp/hout" "^hammer tid=$hpid " 10 || fail
hammer_round 1 || fail   # a thread's stack in glibc's cache (see above)
at_limits "$hpid" || fail
echo "=== limits raised: an attach, counted round 2 exact"
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
hammer_round 2 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 2 || exit 1
echo "inject-limits: refused with exit 22 naming the limit, nothing left in the targets, which ran on exactly"

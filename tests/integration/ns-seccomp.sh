#!/bin/sh
# ns-seccomp.sh — containers under seccomp filters (tests/targets/
# seccomp_exec: everything allowed but one syscall).  memattach reads the
# filter (as root) and runs it on the syscalls the attach makes in the
# target: one that is only failed where the attach copes (process_vm_readv,
# the agent falls back) still gives the exact capture with names; one
# that would kill the target, or memfd_create failed when the agent must
# come from memory, is refused before anything is done in the target:
# exit 11, the message names seccomp, the syscall and the action, and the
# target runs on untouched.  Strict mode is refused the same way.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" "${spid:-}" 2>/dev/null; exit 1; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir "$root/tmp" "$root/proc" || exit 1

# sc_start SYSCALL ACTION [ro] — the container under the filter; with ro,
# a read-only root with its proc and no writable mount, else a tmpfs /tmp.
sc_start() {
	local mnt="mount -t tmpfs tmpfs $root/tmp"
	[ "${3:-}" = ro ] && mnt="mount -o remount,bind,ro $root && mount -t proc proc $root/proc"
	echo "=== seccomp_exec $1 $2, unshare --mount --pid --net --fork, ${3:-tmpfs /tmp}"
	ns_start "$root" unshare --mount --pid --net --fork sh -c \
		"mount --bind $root $root && $mnt && exec $TARGETS/seccomp_exec $1 $2 chroot $root /bin/nsleak --wait-signal" || fail
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$tpid/status" || { echo "FAIL: the target has no seccomp filter"; fail; }
}

# refused PID WHAT — memattach exits 11 saying WHAT (a grep pattern), and
# loads nothing into PID, which runs on.
refused() {
	timeout 60 "$MEMATTACH" --pid "$1" --duration 1 -o "$ma_tmp/r.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
	rc=$?
	ma_show "memattach stderr" "$ma_tmp/merr"
	[ "$rc" = 11 ] || { echo "FAIL: memattach exited $rc (want 11)"; return 1; }
	grep -q "^memattach: $2" "$ma_tmp/merr" || { echo "FAIL: the message does not say: $2"; return 1; }
	agent_mapped "$1" && { echo "FAIL: the agent was loaded all the same"; return 1; }
	[ -e "$ma_tmp/r.cap" ] && { echo "FAIL: a capture was left"; return 1; }
	kill -0 "$1" || { echo "FAIL: the target is gone"; return 1; }
	return 0
}

sc_start process_vm_readv errno
ns_capture "$root" "$ma_tmp/c.cap" || fail

sc_start process_vm_readv kill
refused "$tpid" "a seccomp filter of process $tpid forbids process_vm_readv (it kills the process; Seccomp: 2 in /proc/$tpid/status)" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail

sc_start memfd_create errno ro
refused "$tpid" "a seccomp filter of process $tpid forbids memfd_create (it fails it; .*to load the agent from memory" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail

# memfd_create is not needed when the root has a tmpfs: not refused
sc_start memfd_create kill
ns_capture "$root" "$ma_tmp/m.cap" || fail

# prctl names the loader thread (and the agent's thread where no filter is
# on it): failed, the capture is exact; killing, the attach is refused.
sc_start prctl errno
ns_capture "$root" "$ma_tmp/p.cap" || fail

sc_start prctl kill
refused "$tpid" "a seccomp filter of process $tpid forbids prctl (it kills the process; Seccomp: 2 in /proc/$tpid/status)" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail

# The agent's thread's own calls: the end's wait for the hooks failed (it
# cannot tell when they are out: it keeps what it would release), exact;
# its header's uname killing, refused; its stop requests failed, refused.
sc_start membarrier errno
ns_capture "$root" "$ma_tmp/b.cap" || fail
for sc in "uname kill:it kills the process" "recvfrom errno:it fails it"; do
	sc_start "${sc%% *}" "$(echo "${sc%%:*}" | cut -d' ' -f2)"
	refused "$tpid" "a seccomp filter of process $tpid forbids ${sc%% *} (${sc#*:}; Seccomp: 2 in /proc/$tpid/status)" || fail
	kill -USR1 "$tpid"
	ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
	ns_stop_target || fail
done

# A single-threaded target: the loader thread is its first, and glibc's
# pthread_create installs a signal handler then, on the seized thread.
echo "=== seccomp_exec rt_sigaction kill blocked sleep"
: >"$ma_tmp/bout"
"$TARGETS/seccomp_exec" rt_sigaction kill "$TARGETS/blocked" sleep >"$ma_tmp/bout" 2>&1 </dev/null &
spid=$!
ma_wait_for "$ma_tmp/bout" '^blocking ' 10 || fail
refused "$spid" "a seccomp filter of process $spid forbids rt_sigaction (it kills the process; Seccomp: 2 in /proc/$spid/status)" || fail
kill -9 "$spid"
wait "$spid" 2>/dev/null

# memattach run of a program under that filter: the agent's thread, under
# it too, keeps the name it was born with (a prctl would kill the process)
echo "=== memattach run -- seccomp_exec prctl kill nsleak"
"$MEMATTACH" run -q -o "$ma_tmp/run.cap" -- "$TARGETS/seccomp_exec" prctl kill "$TARGETS/nsleak" \
	>"$ma_tmp/rout" 2>"$ma_tmp/rerr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/rerr"
[ "$rc" = 0 ] || { echo "FAIL: memattach run exited $rc (want 0; 159: the agent's prctl killed the program)"; fail; }
report_json "$ma_tmp/run.cap" "$ma_tmp/run.json" || fail
"$PYTHON" "$ma_here/compare.py" "$ma_tmp/rout" "$ma_tmp/run.json" || fail

# A filter memattach may not read (run by an unprivileged user on its own
# process): not judged; the failure it causes names it as the likely cause.
user=memattach-test
{ id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user"; } && ns_as_user "$user" ||
	{ echo "FAIL: cannot set up $user"; fail; }
echo "=== (as $user) seccomp_exec socket errno nsleak"
as="setpriv --reuid=$(id -u "$user") --regid=$(id -g "$user") --clear-groups"
: >"$ma_tmp/out"
$as "$ma_tmp/ubin/targets/seccomp_exec" socket errno "$ma_tmp/ubin/targets/nsleak" --wait-signal \
	>"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
upid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 10 || fail
tpid=$upid
echo "--- memattach as root: the filter read and judged"
refused "$tpid" "a seccomp filter of process $tpid forbids socket (it fails it;" || fail
echo "--- memattach as $user: the filter not readable, the agent's socket() fails"
timeout 60 "$ma_tmp/ma-$user" --pid "$tpid" --duration 1 -o "$ma_tmp/u/s.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$rc" = 16 ] && grep -q "^memattach: the agent in pid $tpid did not connect (the process runs under a seccomp filter" "$ma_tmp/merr" ||
	{ echo "FAIL: memattach as $user exited $rc (want 16, naming the seccomp filter)"; fail; }
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail

echo "=== seccomp_exec --strict"
mkfifo "$ma_tmp/in" || fail
"$TARGETS/seccomp_exec" --strict <"$ma_tmp/in" >"$ma_tmp/sout" 2>&1 &
spid=$!
exec 3>"$ma_tmp/in"
ma_wait_for "$ma_tmp/sout" '^ready strict' 10 || fail
refused "$spid" "process $spid runs in seccomp strict mode (Seccomp: 1 in /proc/$spid/status)" || fail
exec 3>&-
wait_gone "$spid" 30 && [ "$wrc" = 0 ] || { echo "FAIL: the strict target exited $wrc (want 0)"; fail; }
echo "ns-seccomp: exact where the filter lets the attach through; refused naming seccomp, the syscall and the action where not, the target untouched"

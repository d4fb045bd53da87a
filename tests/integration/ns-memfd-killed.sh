#!/bin/sh
# ns-memfd-killed.sh — a memattach SIGKILLed inside the stop that loads
# the agent from memory (a container with a read-only root and no
# writable mount, its own /proc: ns-readonly.sh's third case), stopped
# there by MEMATTACH_TEST_STOP_IN_MEMFD once the memfds are made and the
# libraries loaded, leaves them open in the target (the test checks it
# did, else it proves nothing); the next attach closes them: the target
# then holds the agent's memfd only, and the capture is exact with names.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 ${tpid:-} ${upid:-} ${mpid:-} ${kpid:-} 2>/dev/null; exit 1; }

ns_new_root proc || exit 1
echo "=== unshare --mount --pid --net --uts --ipc --fork: root read-only, its proc on /proc"
ns_start "$root" unshare --mount --pid --net --uts --ipc --fork sh -c \
	"mount --bind $root $root && mount -o remount,bind,ro $root && mount -t proc proc $root/proc && exec chroot $root /bin/nsleak --wait-signal" || fail

# memfds — "COUNT BYTES" of the memfds the target holds.
memfds() {
	local n=0 b=0 f
	for f in /proc/"$tpid"/fd/*; do
		case $(readlink "$f") in /memfd:*) n=$((n + 1)); b=$((b + $(stat -L -c %s "$f"))) ;; esac
	done
	echo "$n $b"
}
[ "$(memfds)" = "0 0" ] || { echo "FAIL: the target holds memfds before any attach: $(memfds)"; fail; }

ns_attach_stopped MEMATTACH_TEST_STOP_IN_MEMFD 1200 || fail
kill -9 "$kpid"
wait "$kpid" 2>/dev/null
# the tracer dies with it (PR_SET_PDEATHSIG); the target's thread returns
i=0
while grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/"$tpid"/task/*/status; do
	i=$((i + 1))
	[ "$i" -gt 600 ] && { echo "FAIL: the target is still traced"; fail; }
	sleep 0.05
done
set -- $(memfds)
[ "$1" -ge 2 ] || { echo "FAIL: the SIGKILL left $1 memfds (the test proves nothing)"; fail; }
echo "--- left by the SIGKILL inside the stop: $1 memfds, $2 bytes"
agent_mapped "$tpid" && { echo "FAIL: the agent was loaded by the killed memattach"; fail; }

attach_bg "$tpid" "$ma_tmp/a.cap" || fail
set -- $(memfds)
stop_attach || fail
[ "$1" = 1 ] && readlink /proc/"$tpid"/fd/* | grep -qx "/memfd:$AGENT_NAME (deleted)" ||
	{ echo "FAIL: after the next attach the target holds $1 memfds ($2 bytes), want the agent's only:"; ls -l /proc/"$tpid"/fd | grep memfd:; fail; }
echo "--- after the next attach: $1 memfd (the agent's, $2 bytes)"
# the workload under a third attach, which finds the agent by its memfd
ns_capture "$root" "$ma_tmp/c.cap" || fail
echo "ns-memfd-killed: the memfds a SIGKILLed memattach left inside the stop closed by the next attach; exact"

#!/bin/sh
# ns-killed.sh — a memattach SIGKILLed in the middle of an attach into a
# container (stopped by MEMATTACH_TEST_STOP_PLACED with its directory,
# socket and agent copy in the target's root) leaves them there; another
# memattach that comes while it lives must not touch them (its lock is
# held), and the next one after its death removes them: nothing of ours
# is left in the root, and the capture is exact with names.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 ${tpid:-} ${upid:-} ${mpid:-} ${kpid:-} 2>/dev/null; exit 1; }

ns_new_root tmp || exit 1
echo "=== unshare --mount --pid --net --uts --ipc --fork chroot ROOT /bin/nsleak"
ns_start "$root" unshare --mount --pid --net --uts --ipc --fork chroot "$root" /bin/nsleak --wait-signal || fail

# placed_dir — the memattach-c directory of ours in the root, if any.
placed_dir() { find "$root/tmp" -maxdepth 1 -name "memattach-c$tpid.*"; }

ns_attach_stopped MEMATTACH_TEST_STOP_PLACED 600 || fail
killed=$(placed_dir)
[ -S "$killed/agent.sock" ] && [ -f "$killed/$AGENT_NAME" ] ||
	{ echo "FAIL: no socket and agent in the root while placed: '$killed' $(ls -l "$killed" 2>&1)"; fail; }
echo "--- placed, then stopped: ${killed#$root} ($(ls "$killed" | tr '\n' ' '))"

# A memattach meanwhile: the stopped one's directory is alive (locked).
attach_bg "$tpid" "$ma_tmp/a.cap" || fail
stop_attach || fail
[ -d "$killed" ] && [ -S "$killed/agent.sock" ] ||
	{ echo "FAIL: a live memattach's directory was removed by another"; fail; }
echo "--- kept while its memattach lives"

kill -9 "$kpid"
wait "$kpid" 2>/dev/null
[ -d "$killed" ] || { echo "FAIL: nothing was left to sweep (the test proves nothing)"; fail; }
echo "--- left by the SIGKILL: $(ls "$killed" | tr '\n' ' ')"
# The next attach sweeps it; ns_capture finds nothing of ours meanwhile.
ns_capture "$root" "$ma_tmp/c.cap" || fail
left=$(find "$root" -name 'memattach-*')
[ -z "$left" ] || { echo "FAIL: left in the target's root: $left"; fail; }
echo "ns-killed: a killed memattach's directory swept by the next attach, a live one's kept; exact"

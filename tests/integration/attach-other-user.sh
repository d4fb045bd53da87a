#!/bin/sh
# attach-other-user.sh — root attaches to a target run by another user
# (memattach-test, created with useradd -M if missing): the agent is loaded
# from a private copy (root's, read-only, not the build tree's file), and a
# counted round is exact.  Skipped (77) unless root.
. "$(dirname "$0")/attach-common.sh"
fail() { kill -9 "$hpid" "${mpid:-}" 2>/dev/null; exit 1; }
user=memattach-test

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (to run a target as another user)"
	exit 77
fi
command -v setpriv >/dev/null || { echo "SKIP: setpriv (util-linux) not found"; exit 77; }
if ! id "$user" >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin "$user" || { echo "FAIL: useradd -M $user failed"; exit 1; }
fi
uid=$(id -u "$user")
gid=$(id -g "$user")
# The target must be able to reach its binary.
if ! setpriv --reuid="$uid" --regid="$gid" --clear-groups test -x "$TARGETS/hammer"; then
	echo "SKIP: $user cannot execute $TARGETS/hammer (directory permissions)"
	exit 77
fi

setpriv --reuid="$uid" --regid="$gid" --clear-groups "$TARGETS/hammer" \
	>"$ma_tmp/hout" 2>"$ma_tmp/herr" </dev/null &
hpid=$!
ma_wait_for "$ma_tmp/hout" '^ready ' 10 || { echo "FAIL: hammer did not start"; fail; }
[ "$(stat -c %u "/proc/$hpid")" = "$uid" ] || { echo "FAIL: the target does not run as $user"; fail; }
sleep 0.3
attach_bg "$hpid" "$ma_tmp/h.cap" || fail
ma_show "memattach stderr" "$ma_tmp/merr"
line=$(grep "$AGENT_NAME" "/proc/$hpid/maps" | head -n 1)
agent=$(printf '%s\n' "$line" | grep -o "/[^ ]*$AGENT_NAME")
echo "--- agent in the target: $line"
case $agent in
"") echo "FAIL: no agent mapped in the target"; fail ;;
"$ma_builddir"/*) echo "FAIL: the target maps the build tree's agent, not a private copy"; fail ;;
esac
# The copy is memattach's (its user cannot change it), in a directory kept
# for this target only (a later attach reuses it; a memattach run after the
# target is gone removes it).
case $agent in
*/memattach-t"$hpid".*/"$AGENT_NAME") ;;
*) echo "FAIL: the agent copy $agent is not in a directory of this target's"; fail ;;
esac
own=$(stat -c '%u %a' "/proc/$hpid/root$agent" 2>/dev/null)
[ "$own" = "0 555" ] || { echo "FAIL: the agent copy is uid/mode '$own', want '0 555' (root's, read-only)"; fail; }
hammer_round 1 || fail
stop_attach || fail
stop_hammer || fail
report_json "$ma_tmp/h.cap" "$ma_tmp/h.json" || exit 1
check_hammer "$ma_tmp/h.cap" "$ma_tmp/h.json" 1

#!/bin/sh
# ns-userns.sh — a rootless container as podman makes one: an
# unprivileged user's user namespace mapping its root to that user and
# uids 1.. to its subordinate uids (newuidmap), the target running as
# uid 1000 inside (another uid outside), in its own mount, pid and
# network namespaces, chrooted.  memattach run by that same user (who
# owns the namespace, so the kernel lets it trace the target): exact
# truth and names, also at a second attach; --follow-fork refused with the cause (the socket
# cannot be given to the target's user); memattach run by another
# unprivileged user: refused by the kernel's rule, exit 6 naming it.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }
user=memattach-test

unshare --user --map-root-user true 2>"$ma_tmp/uerr" ||
	{ echo "SKIP: user namespaces refused here: $(cat "$ma_tmp/uerr")"; exit 77; }
command -v newuidmap >/dev/null || { echo "SKIP: newuidmap (Debian's uidmap) not installed"; exit 77; }
id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user" || { echo "FAIL: useradd $user"; exit 1; }
# the other user is this test's alone: made unique, removed at the end
other=ma-other-$$
useradd -M -s /usr/sbin/nologin "$other" || { echo "FAIL: useradd $other"; exit 1; }
trap 'userdel "$other" 2>/dev/null; rm -rf "$ma_tmp"' EXIT
uid=$(id -u "$user") gid=$(id -g "$user")
sub=$(sed -n "s/^$user:\([0-9]*\):\([0-9]*\)$/\1/p" /etc/subuid)
subg=$(sed -n "s/^$user:\([0-9]*\):\([0-9]*\)$/\1/p" /etc/subgid)
[ -n "$sub" ] && [ -n "$subg" ] || { echo "SKIP: $user has no range in /etc/subuid, /etc/subgid"; exit 77; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir -m 1777 "$root/tmp" || exit 1
ns_as_user "$user" && ns_as_user "$other" || fail

echo "=== (as $user) unshare --user --map-root-user --map-users=$sub,1,65536 --mount --pid --net --fork --root=ROOT --setuid=1000 /bin/nsleak"
ns_start "$root" setpriv --reuid="$uid" --regid="$gid" --clear-groups unshare --user --map-root-user \
	--map-users="$sub,1,65536" --map-groups="$subg,1,65536" --mount --pid --net --fork \
	--root="$root" --setuid=1000 --setgid=1000 /bin/nsleak --wait-signal || fail
host_uid=$(sed -n 's/^Uid:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$tpid/status")
[ "$host_uid" = $((sub + 999)) ] || { echo "FAIL: the target runs as uid $host_uid here (want $((sub + 999)))"; fail; }
echo "--- target: uid 1000 inside, $host_uid here; memattach as $user ($uid)"

"$ma_tmp/ma-$other" --pid "$tpid" --duration 1 -o "$ma_tmp/u/o.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$rc" = 6 ] && grep -q "^memattach: process $tpid belongs to uid $host_uid, not to you" "$ma_tmp/merr" ||
	{ echo "FAIL: memattach as $other exited $rc (want 6, naming uid $host_uid)"; fail; }
"$ma_tmp/ma-$user" --pid "$tpid" --follow-fork --duration 1 -o "$ma_tmp/u/f.cap" >/dev/null 2>"$ma_tmp/merr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$rc" = 11 ] && grep -q "^memattach: --follow-fork needs a socket only process $tpid's user can reach, and you cannot give one to its user" "$ma_tmp/merr" ||
	{ echo "FAIL: memattach --follow-fork as $user exited $rc (want 11 naming the cause)"; fail; }
# twice: the second finds the agent the first loaded (its copy is gone,
# map_files is root's) by its build id
MEMATTACH=$ma_tmp/ma-$user attach_bg "$tpid" "$ma_tmp/u/c1.cap" || fail
stop_attach || fail
MEMATTACH=$ma_tmp/ma-$user ns_capture "$root" "$ma_tmp/u/c.cap" || fail
echo "ns-userns: exact as the namespace's owner; refused with the cause otherwise"

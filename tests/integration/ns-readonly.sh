#!/bin/sh
# ns-readonly.sh — the container of ns-chroot.sh with a read-only root (a
# read-only bind mount, as Kubernetes' readOnlyRootFilesystem): the agent
# goes into a writable mount the target already has — a tmpfs on /tmp,
# then one on a path of its own (an emptyDir volume) — exact truth and
# names; with none, the agent and its libraries are loaded from memfds of
# the target's (/proc/self/fd/N) and the socket is abstract, in its
# network namespace: exact truth and names, nothing left anywhere; with
# neither (no /proc in the root), memattach exits 11 naming each place
# and why.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir "$root/tmp" "$root/scratch" "$root/proc" || exit 1

# ro_start [MOUNTPOINT] — the root bound read-only in the target's mount
# namespace, MOUNTPOINT (in it) a tmpfs, or with ro_proc=1 its proc on
# /proc; nothing changes on the host.
ro_start() {
	local mnt=${1:+mount -t tmpfs tmpfs $root$1 &&}
	[ "${ro_proc:-0}" = 1 ] && mnt="mount -t proc proc $root/proc &&"
	echo "=== unshare --mount --pid --net --uts --ipc --fork: root read-only${1:+, tmpfs on $1}${mnt:+ ($mnt)}"
	ns_start "$root" unshare --mount --pid --net --uts --ipc --fork sh -c \
		"mount --bind $root $root && mount -o remount,bind,ro $root && $mnt exec chroot $root /bin/nsleak --wait-signal"
}

# expect_agent_in DIR — the target maps the agent from DIR/memattach-c*.
expect_agent_in() {
	grep -q " $1/memattach-c$tpid\.[^/]*/$AGENT_NAME" "$ma_tmp/maps" ||
		{ echo "FAIL: the agent is not mapped from $1: $(grep "$AGENT_NAME" "$ma_tmp/maps" | head -n 1)"; return 1; }
}

ro_start /tmp || fail
touch "/proc/$tpid/root/ro-check" 2>/dev/null && { echo "FAIL: the target's root is writable"; fail; }
attach_bg "$tpid" "$ma_tmp/t.cap" || fail
sed "s| $root/| /|" "/proc/$tpid/maps" >"$ma_tmp/maps"
stop_attach || fail
expect_agent_in /tmp || fail
# the workload under a second attach, which reuses the agent loaded (its file is gone)
ns_capture "$root" "$ma_tmp/t2.cap" || fail

ro_start /scratch || fail
attach_bg "$tpid" "$ma_tmp/s.cap" || fail
sed "s| $root/| /|" "/proc/$tpid/maps" >"$ma_tmp/maps"
stop_attach || fail
expect_agent_in /scratch || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail

# No writable mount at all (no tmpfs, no /dev/shm): from memory.
ro_proc=1 ro_start || fail
rw=$(awk '$4 ~ /^rw/ && $3 != "proc"' "/proc/$tpid/mounts")
[ -z "$rw" ] || { echo "FAIL: the target has a writable mount: $rw"; fail; }
attach_bg "$tpid" "$ma_tmp/m.cap" || fail
cp "/proc/$tpid/maps" "$ma_tmp/maps"
stop_attach || fail
for lib in "$AGENT_NAME" libunwind.so.8 libprotobuf-c.so.1; do
	grep -q " 00000000 .* /memfd:$lib (deleted)$" "$ma_tmp/maps" ||
		{ echo "FAIL: $lib is not mapped from a memfd: $(grep "$lib" "$ma_tmp/maps" | head -n 1)"; fail; }
done
[ "$(ls -l "/proc/$tpid/fd" | grep -c memfd:)" = 1 ] ||
	{ echo "FAIL: the target holds other than the agent's memfd: $(ls -l "/proc/$tpid/fd" | grep memfd:)"; fail; }
left=$(find "$root" -path "$root/proc" -prune -o -name 'memattach-*' -print; find "${TMPDIR:-/tmp}" -maxdepth 1 -name "memattach-c$tpid.*")
[ -z "$left" ] || { echo "FAIL: left behind: $left"; fail; }
# the workload under a second attach, which finds the agent by its memfd
ns_capture "$root" "$ma_tmp/m2.cap" || fail
ro_proc=0

# The same in a user namespace an unprivileged user made (rootless), with
# memattach run by root, then by that user (who owns the namespace: the
# socket is made by a child that enters it).
user=memattach-test
ma_as_user=$ma_tmp/ma-$user
if ! unshare --user --map-root-user true 2>"$ma_tmp/uerr"; then
	echo "--- user namespaces not tried: $(cat "$ma_tmp/uerr")"
elif ! { id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user"; }; then
	echo "FAIL: useradd $user"; fail
else
	uid=$(id -u "$user") gid=$(id -g "$user")
	ns_as_user "$user" || fail
	for who in root "$user"; do
		ro_user="setpriv --reuid=$uid --regid=$gid --clear-groups unshare --user --map-root-user"
		echo "=== $ro_user --mount --pid --net --fork: root read-only, its proc on /proc; memattach as $who"
		ns_start "$root" $ro_user --mount --pid --net --fork sh -c \
			"mount --bind $root $root && mount -o remount,bind,ro $root && mount -t proc proc $root/proc && exec chroot $root /bin/nsleak --wait-signal" || fail
		if [ "$who" = root ]; then
			ns_capture "$root" "$ma_tmp/u/r.cap" || fail
		else
			# twice: the second finds the agent by its memfd (no map_files for a user)
			MEMATTACH=$ma_as_user attach_bg "$tpid" "$ma_tmp/u/u1.cap" || fail
			stop_attach || fail
			MEMATTACH=$ma_as_user ns_capture "$root" "$ma_tmp/u/u.cap" || fail
		fi
	done
fi

ro_start || fail
timeout 60 "$MEMATTACH" --pid "$tpid" --duration 1 -o "$ma_tmp/n.cap" >"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$rc" = 11 ] || { echo "FAIL: memattach exited $rc with no writable place in the target's root (want 11)"; fail; }
grep -q "^memattach: process $tpid has no directory where memattach can put the agent .*/tmp read-only.*/ read-only.*emptyDir.*; nor can it load the agent from memory: /proc in it is not its proc file system (mount proc there)$" "$ma_tmp/merr" ||
	{ echo "FAIL: the message does not name the places and why"; fail; }
[ -e "$ma_tmp/n.cap" ] && { echo "FAIL: a capture was left at $ma_tmp/n.cap"; fail; }
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail
echo "ns-readonly: exact with the agent on /tmp, on /scratch and from memory; refused with the reasons when none"

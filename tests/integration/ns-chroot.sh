#!/bin/sh
# ns-chroot.sh — a target in its own mount, pid, network, UTS and IPC
# namespaces, chrooted into a root that holds only it and its libraries
# (no /tmp, no /proc), attached by its host pid: exact truth, names, both
# pids.  Then the same in a user namespace (root inside mapped to root),
# and in one made by an unprivileged user (memattach-test, created with
# useradd -M if missing) — skipped with the reason when the kernel refuses
# user namespaces.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }
user=memattach-test

chmod 755 "$ma_tmp"   # the unprivileged user's target reaches its root
root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
run() {
	echo "=== $* chroot ROOT /bin/nsleak"
	ns_start "$root" "$@" chroot "$root" /bin/nsleak --wait-signal || fail
	ns_capture "$root" "$ma_tmp/c.cap" || fail
}
run unshare --mount --pid --net --uts --ipc --fork
if unshare --user --map-root-user true 2>"$ma_tmp/uerr"; then
	run unshare --user --map-root-user --mount --pid --net --uts --ipc --fork
	id "$user" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$user" || { echo "FAIL: useradd $user"; exit 1; }
	uid=$(id -u "$user")
	run setpriv --reuid="$uid" --regid="$(id -g "$user")" --clear-groups \
		unshare --user --map-root-user --mount --pid --net --fork
else
	echo "--- user namespaces not tried: $(cat "$ma_tmp/uerr")"
fi
# --dump-on-threshold: the snapshot keeps both pids too.
echo "=== unshare --mount --pid --net --fork chroot ROOT; memattach --dump-on-threshold 200KB --threshold-on heap"
ns_start "$root" unshare --mount --pid --net --fork chroot "$root" /bin/nsleak --wait-signal || fail
"$MEMATTACH" --pid "$tpid" --dump-on-threshold 200KB --threshold-on heap -o "$ma_tmp/t.cap" \
	>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null &
mpid=$!
ma_wait_for "$ma_tmp/merr" '^memattach: watching pid' 60 || { ma_show "memattach stderr" "$ma_tmp/merr"; fail; }
kill -USR1 "$tpid"
wait_gone "$mpid" 60 || { echo "FAIL: memattach --dump-on-threshold did not end"; fail; }
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$wrc" = 0 ] || { echo "FAIL: memattach --dump-on-threshold exited $wrc (want 0: crossed)"; fail; }
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || fail
ns_stop_target || fail
report_json "$ma_tmp/t.cap" "$ma_tmp/t.json" || exit 1
"$PYTHON" -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if (s["pid"], s.get("pid_in_namespace")) == (int(sys.argv[2]), 1) else print("FAIL: snapshot pids", s["pid"], s.get("pid_in_namespace")) or 1)' \
	"$ma_tmp/t.json" "$tpid" || exit 1
echo "--- snapshot: pid $tpid (1 in its namespace)"

# A container whose binary differs from this machine's file of the same
# path: names from its own (other_keep_*), never from the host's
# (ns_keep_*).
other=$ma_tmp/other
ns_make_root "$other" "$TARGETS/nsleak_other" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir -p "$other$TARGETS" && cp "$TARGETS/nsleak_other" "$other$TARGETS/nsleak" || exit 1
echo "=== unshare --mount --pid --fork chroot OTHER $TARGETS/nsleak (nsleak_other's bytes)"
ns_start "$other" unshare --mount --pid --fork chroot "$other" "$TARGETS/nsleak" --wait-signal || fail
ns_prefix=other ns_capture "$other" "$ma_tmp/o.cap" || fail
echo "ns-chroot: exact"

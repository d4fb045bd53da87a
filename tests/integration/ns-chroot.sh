#!/bin/sh
# ns-chroot.sh — a target in its own mount, pid, network, UTS and IPC
# namespaces, chrooted into a root that holds only it and its libraries
# (no /tmp, no /proc), attached by its host pid: exact truth and names.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
echo "=== unshare --mount --pid --net --uts --ipc --fork chroot ROOT /bin/nsleak"
ns_start "$root" unshare --mount --pid --net --uts --ipc --fork \
	chroot "$root" /bin/nsleak --wait-signal || fail
ns_capture "$root" "$ma_tmp/c.cap" || fail
echo "ns-chroot: exact"

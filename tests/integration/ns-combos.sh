#!/bin/sh
# ns-combos.sh — every namespace alone (mount, pid, net, uts, ipc,
# cgroup, user, time), then together, with and without a chroot: the
# exact capture with names and both pids each time.  Prints the table the
# README's "Containers and forking servers" section sums up; one that the
# kernel refuses here is listed as not tried, with unshare's words.
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
table=$ma_tmp/table
all="--mount --pid --net --uts --ipc --cgroup"

# combo [chroot] UNSHARE-FLAGS... — one case; its line in the table.
combo() {
	local ch=
	[ "$1" = chroot ] && { ch=chroot; shift; }
	if ! unshare "$@" --fork true 2>"$ma_tmp/uerr"; then
		echo "| $* ${ch:+(chroot)} | not tried: $(head -n 1 "$ma_tmp/uerr") |" >>"$table"
		return 0
	fi
	echo "=== unshare $* --fork ${ch:+chroot ROOT }nsleak"
	if [ -n "$ch" ]; then
		ns_start "$root" unshare "$@" --fork chroot "$root" /bin/nsleak --wait-signal || fail
		ns_capture "$root" "$ma_tmp/c.cap" || fail
	else
		ns_start "$root" unshare "$@" --fork "$TARGETS/nsleak" --wait-signal || fail
		ns_capture "$ma_tmp" "$ma_tmp/c.cap" || fail
	fi
	echo "| $* ${ch:+(chroot)} | exact: pid $tpid ($nspid inside) |" >>"$table"
}

for ns in --mount --pid --net --uts --ipc --cgroup --time "--user --map-root-user"; do
	# shellcheck disable=SC2086  # words on purpose
	combo $ns
done
# shellcheck disable=SC2086
combo $all
# shellcheck disable=SC2086
combo chroot $all
# shellcheck disable=SC2086
combo chroot --user --map-root-user $all --time
echo "--- namespaces tried (README \"Containers and forking servers\"):"
cat "$table"
echo "ns-combos: exact in every combination the kernel allows here"

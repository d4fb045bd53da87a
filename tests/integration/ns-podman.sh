#!/bin/sh
# ns-podman.sh — a container made by a real runtime: the root of
# ns-chroot.sh imported into podman (`podman import` of a tarball built
# here), run with no network, attached by its host pid (`podman inspect
# -f '{{.State.Pid}}'`): exact truth, names and both pids.  Skipped, with
# podman's own words, only when podman is missing or cannot run a
# container on this machine.
. "$(dirname "$0")/ns-common.sh"
command -v podman >/dev/null || { echo "SKIP: podman is not installed (apt-get install podman runc)"; exit 77; }
image=localhost/memattach-test-nsleak-$$
name=memattach-test-$$
cleanup() {
	podman rm -f "$name" >/dev/null 2>&1
	podman rmi -f "$image" >/dev/null 2>&1
	rm -rf "$ma_tmp"
}
trap cleanup EXIT
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

ns_make_root "$ma_tmp/root" || { echo "FAIL: cannot build the root"; exit 1; }
tar -C "$ma_tmp/root" -cf "$ma_tmp/root.tar" . || exit 1
if ! timeout 120 podman import "$ma_tmp/root.tar" "$image" >"$ma_tmp/imp" 2>&1; then
	echo "SKIP: podman import cannot run here: $(tail -n 1 "$ma_tmp/imp")"
	exit 77
fi
# Limits lowered (podman raises them to its defaults, which a restricted
# machine refuses: EPERM), then runc with cgroupfs when the default runtime
# cannot run (crun refuses hybrid cgroups).
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
for rt in "" "--runtime runc --cgroup-manager=cgroupfs"; do
	echo "=== podman $rt run --network none $limits $image /bin/nsleak --wait-signal"
	# shellcheck disable=SC2086  # words on purpose
	podman $rt run --rm --network none $limits --name "$name" "$image" /bin/nsleak --wait-signal \
		>"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
	upid=$!
	ma_wait_for "$ma_tmp/out" '^ready ' 60 && break
	why=$(grep -h -m1 -i error "$ma_tmp/out" "$ma_tmp/terr")
	echo "--- this runtime cannot run a container here: $why"
	kill -9 "$upid" 2>/dev/null
	wait "$upid" 2>/dev/null
	podman rm -f "$name" >/dev/null 2>&1
	upid=
done
[ -n "$upid" ] || { echo "SKIP: podman cannot run a container here: $why"; exit 77; }
tpid=$(podman inspect -f '{{.State.Pid}}' "$name") || fail
echo "--- podman inspect -f '{{.State.Pid}}': $tpid, $(grep NSpid "/proc/$tpid/status"), $(grep '^Seccomp:' "/proc/$tpid/status")"
ns_capture "/proc/$tpid/root" "$ma_tmp/p.cap" || fail
wait "$upid" 2>/dev/null

# Kubernetes' readOnlyRootFilesystem with no volume: a read-only root and
# no tmpfs of podman's (its /dev and /dev/shm are noexec): the agent comes
# from memory, the socket is abstract.
echo "=== podman $rt run --read-only --read-only-tmpfs=false --network none $limits $image /bin/nsleak --wait-signal"
: >"$ma_tmp/out"   # the first container's "ready" must not end the wait
# shellcheck disable=SC2086  # words on purpose
podman $rt run --rm --read-only --read-only-tmpfs=false --network none $limits --name "$name" "$image" \
	/bin/nsleak --wait-signal >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
upid=$!
ma_wait_for "$ma_tmp/out" '^ready ' 60 || { ma_show "podman stderr" "$ma_tmp/terr"; fail; }
tpid=$(podman inspect -f '{{.State.Pid}}' "$name") || fail
attach_bg "$tpid" "$ma_tmp/r1.cap" || fail
grep -q " 00000000 .* /memfd:$AGENT_NAME (deleted)$" "/proc/$tpid/maps" ||
	{ echo "FAIL: the agent is not loaded from memory: $(grep "$AGENT_NAME" "/proc/$tpid/maps" | head -n 1)"; fail; }
stop_attach || fail
ns_capture "/proc/$tpid/root" "$ma_tmp/r.cap" || fail
echo "ns-podman: exact, also with a read-only root and no tmpfs (from memory)"

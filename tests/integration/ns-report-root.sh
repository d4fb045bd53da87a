#!/bin/sh
# ns-report-root.sh — symbols read at report time for a target in its own
# root (issue 13): a chroot with its own mount and pid namespaces whose
# binary differs from this machine's file of the same path (nsleak_other's
# bytes at tests/targets/nsleak: another build id, other function names).
# Its capture without symbols (symcheck --strip: what a killed writer
# leaves) gets the target's names, file:line, with exact bytes: through
# /proc/PID/root while the target runs, through the recorded path after it
# exited, through --root DIR; `memattach symbolize` stores them.  A root
# that lacks the binary (--root EMPTY) gives no names, and never the host
# file's (ns_keep_*).  A root bind-mounted in the target's own mount
# namespace only is found by its mount here; a podman container's root is
# recorded as podman's merged directory (when podman runs here).
. "$(dirname "$0")/ns-common.sh"
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }
SYMCHECK=$ma_builddir/tests/symbols/symcheck
[ -x "$SYMCHECK" ] || { echo "FAIL: $SYMCHECK not built"; exit 1; }

other=$ma_tmp/other
ns_make_root "$other" "$TARGETS/nsleak_other" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir -p "$other$TARGETS" && cp "$TARGETS/nsleak_other" "$other$TARGETS/nsleak" || exit 1
mkdir "$ma_tmp/empty" || exit 1
big_line=$(grep -n 'malloc(40000)' "$ma_here/../targets/nsleak.c" | cut -d: -f1)
small_line=$(grep -n 'malloc(333)' "$ma_here/../targets/nsleak.c" | cut -d: -f1)

echo "=== unshare --mount --pid --fork chroot OTHER $TARGETS/nsleak (nsleak_other's bytes)"
ns_start "$other" unshare --mount --pid --fork chroot "$other" "$TARGETS/nsleak" --wait-signal || fail
attach_bg "$tpid" "$ma_tmp/full.cap" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { echo "FAIL: the workload did not finish"; fail; }
stop_attach || fail
cut=$ma_tmp/cut.cap
"$SYMCHECK" --strip "$ma_tmp/full.cap" "$cut" || { echo "FAIL: symcheck --strip"; fail; }
[ -z "$("$SYMCHECK" "$cut")" ] || { echo "FAIL: the stripped capture still has symbols"; fail; }

# names CAP WANT [REPORT OPTIONS] — report summary --json; WANT "other":
# other_keep_big and other_keep_small at their malloc lines with their exact
# bytes; WANT "none": neither they nor the host file's ns_keep_* named.
names() {
	local cap=$1 want=$2
	shift 2
	"$MEMATTACH" report summary --json "$cap" "$@" >"$ma_tmp/sum.json" 2>"$ma_tmp/rerr" ||
		{ ma_show "report stderr" "$ma_tmp/rerr"; echo "FAIL: report summary --json $*"; return 1; }
	ma_show "report stderr" "$ma_tmp/rerr"
	"$PYTHON" - "$ma_tmp/sum.json" "$want" "$big_line" "$small_line" <<'PY'
import json, sys
top = json.load(open(sys.argv[1]))["top"]
want, big, small = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
got = {t["function"]: (t["own_bytes"], t["own_count"], (t.get("file") or "").split("/")[-1], t.get("line"))
       for t in top if t.get("function")}
if want == "other":
    exp = {"other_keep_big": (280000, 7, "nsleak.c", big),
           "other_keep_small": (16650, 50, "nsleak.c", small)}
    ok = got == exp
else:
    exp = "no other_keep_* nor ns_keep_*"
    ok = not any(f.startswith(("other_keep", "ns_keep")) for f in got)
if not ok:
    print(f"FAIL: named locations {got}, want {exp}")
    sys.exit(1)
print(f"--- names: {got if got else 'none'}")
PY
}

# 1. The target still runs: through its /proc/PID/root (identity checked).
echo "=== report, the target running"
names "$cut" other || fail
grep -q "^note: .* names were read through the target's root /proc/$tpid/root (of the target, pid $tpid, still running), build ids checked" "$ma_tmp/rerr" ||
	{ echo "FAIL: the note does not say the names came through the running target's root"; fail; }
ns_stop_target || fail

# 2. The target is gone: through the root's recorded path.
echo "=== report, the target gone"
names "$cut" other || fail
grep -q "^note: .* names were read through the target's root $other (recorded), build ids checked" "$ma_tmp/rerr" ||
	{ echo "FAIL: the note does not say the names came through the recorded root"; fail; }

# 3. --root DIR, the root moved elsewhere.
mv "$other" "$ma_tmp/moved" || exit 1
echo "=== report, the root moved: without and with --root"
names "$cut" none || exit 1
grep -q "the target's root $other is gone; --root DIR names it" "$ma_tmp/rerr" ||
	{ echo "FAIL: no word that the recorded root is gone"; exit 1; }
names "$cut" other --root "$ma_tmp/moved/" || exit 1
grep -q "^note: .* names were read through the target's root $ma_tmp/moved (given with --root)" "$ma_tmp/rerr" ||
	{ echo "FAIL: the note does not say the names came through --root"; exit 1; }

# 4. A root without the target's files: no names, never the host file's.
echo "=== report --root EMPTY"
names "$cut" none --root "$ma_tmp/empty" || exit 1
grep -q "^warning: the capture holds no symbols, and none could be read through the target's root $ma_tmp/empty (given with --root): native frames" "$ma_tmp/rerr" ||
	{ echo "FAIL: no warning that the root gave no names"; exit 1; }
"$MEMATTACH" report summary "$cut" --root "$ma_tmp/nosuch" >/dev/null 2>"$ma_tmp/rerr"
rc=$?
[ "$rc" = 2 ] && [ "$(wc -l <"$ma_tmp/rerr")" = 1 ] && grep -q "^memattach report: --root $ma_tmp/nosuch: " "$ma_tmp/rerr" ||
	{ ma_show "report stderr" "$ma_tmp/rerr"; echo "FAIL: --root NOSUCH exited $rc, want 2 and one line"; exit 1; }

# 5. symbolize --root: the names stored in the capture, the same records a
# normal end wrote (it read the running target's files).
echo "=== symbolize --root"
"$MEMATTACH" symbolize "$cut" --root "$ma_tmp/moved" 2>"$ma_tmp/serr" ||
	{ ma_show "symbolize stderr" "$ma_tmp/serr"; echo "FAIL: symbolize exited $?"; exit 1; }
ma_show "symbolize stderr" "$ma_tmp/serr"
n=$("$SYMCHECK" "$ma_tmp/full.cap" | grep -c '^0x')
grep -q "^memattach: $n symbols added, written to $cut (read through the target's root $ma_tmp/moved (given with --root))\$" "$ma_tmp/serr" ||
	{ echo "FAIL: want '$n symbols added ... (read through the target's root ...)'"; exit 1; }
"$SYMCHECK" "$ma_tmp/full.cap" | sort >"$ma_tmp/a"
"$SYMCHECK" "$cut" | sort >"$ma_tmp/b"
cmp -s "$ma_tmp/a" "$ma_tmp/b" || { echo "FAIL: symbols differ from the normal end's:"; diff "$ma_tmp/a" "$ma_tmp/b" | head; exit 1; }
names "$cut" other || exit 1
grep -q "note: the capture holds no symbols" "$ma_tmp/rerr" && { echo "FAIL: still symbolized at report time"; exit 1; }
# 6. A root seen only in the target's mount namespace (bind-mounted there
# on a directory that is empty here): the recorded path is found from the
# mounts (the same file system's mount here), checked by device and inode.
mv "$ma_tmp/moved" "$other" && mkdir "$ma_tmp/mnt" || exit 1
"$SYMCHECK" --strip "$ma_tmp/full.cap" "$cut" || exit 1
echo "=== unshare --mount --pid --fork: mount --bind OTHER MNT; chroot MNT $TARGETS/nsleak"
ns_start "$other" unshare --mount --pid --fork sh -c 'mount --bind "$1" "$2" && exec chroot "$2" "$3" --wait-signal' \
	sh "$other" "$ma_tmp/mnt" "$TARGETS/nsleak" || fail
attach_bg "$tpid" "$ma_tmp/full.cap" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { echo "FAIL: the workload did not finish"; fail; }
stop_attach || fail
ns_stop_target || fail
"$SYMCHECK" --strip "$ma_tmp/full.cap" "$cut" || exit 1
names "$cut" other || exit 1
rec=$(sed -n "s/^note: .* names were read through the target's root \(.*\) (recorded), build ids checked .*/\1/p" "$ma_tmp/rerr")
[ -n "$rec" ] && [ "$rec" != "$ma_tmp/mnt" ] && [ "$(stat -c %d:%i "$rec")" = "$(stat -c %d:%i "$other")" ] ||
	{ echo "FAIL: the recorded root '$rec' is not $other"; exit 1; }
echo "--- recorded root: $rec (the directory $other)"

# 7. memattach SIGKILLed mid-capture: its file has the root from the start.
# Killed once the file holds the workload's events (read back until the
# report's numbers are the target's: the product says when, not a clock).
echo "=== memattach SIGKILLed, the target in the chroot"
ns_start "$other" unshare --mount --pid --fork chroot "$other" "$TARGETS/nsleak" --wait-signal || fail
kcap=$ma_tmp/killed.cap
attach_bg "$tpid" "$kcap" || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { echo "FAIL: the workload did not finish"; fail; }
i=0
until names "$kcap" other >/dev/null 2>&1; do
	i=$((i + 1))
	[ "$i" -gt 600 ] && { names "$kcap" other; echo "FAIL: the workload never reached the file"; fail; }
	sleep 0.1
done
kill -9 "$mpid"
wait "$mpid" 2>/dev/null
[ -z "$("$SYMCHECK" "$kcap")" ] || { echo "FAIL: the killed capture has symbols (the test proves nothing)"; fail; }
names "$kcap" other || fail
grep -q "^note: .* names were read through the target's root /proc/$tpid/root (of the target, pid $tpid, still running)" "$ma_tmp/rerr" ||
	{ echo "FAIL: the note does not say the names came through the running target's root"; fail; }
ns_stop_target || fail
names "$kcap" other || exit 1
grep -q "^note: .* names were read through the target's root $other (recorded)" "$ma_tmp/rerr" ||
	{ echo "FAIL: the note does not say the names came through the recorded root"; exit 1; }
# 8. A real container (podman, when it runs here): its overlay root is
# recorded as the host's mount of it (podman's merged directory); after the
# container stopped, `podman mount` puts it back there, and names come
# through it.
image=localhost/memattach-test-root-$$
name=memattach-test-root-$$
podman_gone() { podman rm -f "$name" >/dev/null 2>&1; podman rmi -f "$image" >/dev/null 2>&1; }
try_podman() {
	local rt limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
	command -v podman >/dev/null || { why="podman is not installed"; return 1; }
	ns_make_root "$ma_tmp/proot" "$TARGETS/nsleak_other" && tar -C "$ma_tmp/proot" -cf "$ma_tmp/proot.tar" . || exit 1
	timeout 120 podman import "$ma_tmp/proot.tar" "$image" >"$ma_tmp/imp" 2>&1 || { why=$(tail -n 1 "$ma_tmp/imp"); return 1; }
	for rt in "" "--runtime runc --cgroup-manager=cgroupfs"; do
		: >"$ma_tmp/out"
		# shellcheck disable=SC2086  # words on purpose
		podman $rt run --network none $limits --name "$name" "$image" /bin/nsleak --wait-signal \
			>"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
		upid=$!
		ma_wait_for "$ma_tmp/out" '^ready ' 60 && return 0
		why=$(grep -h -m1 -i error "$ma_tmp/out" "$ma_tmp/terr")
		kill -9 "$upid" 2>/dev/null
		wait "$upid" 2>/dev/null
		podman rm -f "$name" >/dev/null 2>&1
	done
	return 1
}
if try_podman; then
	echo "=== podman run $image (nsleak_other as /bin/nsleak)"
	tpid=$(podman inspect -f '{{.State.Pid}}' "$name") || { podman_gone; fail; }
	merged=$(podman inspect -f '{{.GraphDriver.Data.MergedDir}}' "$name")
	attach_bg "$tpid" "$ma_tmp/p.cap" || { podman_gone; fail; }
	kill -USR1 "$tpid"
	ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { podman_gone; fail; }
	stop_attach || { podman_gone; fail; }
	"$SYMCHECK" --strip "$ma_tmp/p.cap" "$cut" || { podman_gone; fail; }
	names "$cut" other || { podman_gone; fail; }
	grep -q "names were read through the target's root /proc/$tpid/root (of the target, pid $tpid, still running)" "$ma_tmp/rerr" ||
		{ echo "FAIL: not through the running container's root"; podman_gone; fail; }
	kill -USR1 "$tpid"
	wait "$upid"
	m=$(podman mount "$name") || { echo "FAIL: podman mount $name"; podman_gone; exit 1; }
	echo "--- podman mount: $m (MergedDir while it ran: $merged)"
	names "$cut" other || { podman umount "$name" >/dev/null; podman_gone; exit 1; }
	podman umount "$name" >/dev/null
	podman_gone
	grep -q "names were read through the target's root $merged (recorded)" "$ma_tmp/rerr" ||
		{ echo "FAIL: not through the container's recorded root $merged"; exit 1; }
else
	podman_gone
	echo "--- podman not tried: ${why:-it cannot run a container here}"
fi
echo "ns-report-root: exact"

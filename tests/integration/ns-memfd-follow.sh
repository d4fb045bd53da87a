#!/bin/sh
# ns-memfd-follow.sh — --follow-fork with the agent loaded from memory: a
# container whose root is read-only and whose only writable mount is
# noexec (the agent cannot be mapped from it), its own /proc and network
# namespace.  tests/targets/prefork (as /bin/nsleak in the root) keeps
# 40000 bytes and forks 3 workers during the capture: each process's
# capture against its own truth (read through /proc/PID/root).  Children
# connect on the abstract socket, which takes only the target's user and
# root: a connection from uid 65534 is refused by name and gets no
# capture.  Programs they exec are not followed (memattach says so once):
# worker 2 keeps 5 blocks of 777 bytes, then execs (--exec-worker, execv);
# its capture holds at most those (the batch not sent yet goes with the
# image), the exec'd program runs to its end untouched (its truth
# written, exit 0, nothing on the target's stderr).
. "$(dirname "$0")/ns-common.sh"
. "$ma_here/prefork-common.sh"
fail() { kill -9 ${tpid:-} ${upid:-} ${mpid:-} 2>/dev/null; exit 1; }
command -v nsenter >/dev/null && command -v setpriv >/dev/null ||
	{ echo "SKIP: nsenter, setpriv (util-linux) not found"; exit 77; }

root=$ma_tmp/root
ns_make_root "$root" "$TARGETS/prefork" || { echo "FAIL: cannot build the root"; exit 1; }
mkdir "$root/proc" "$root/truth" || exit 1
echo "=== unshare --mount --net --fork: root read-only, proc on /proc, a noexec tmpfs on /truth"
ns_start "$root" unshare --mount --net --fork sh -c \
	"mount --bind $root $root && mount -o remount,bind,ro $root && mount -t proc proc $root/proc &&
	 mount -t tmpfs -o noexec,mode=0777 tmpfs $root/truth && exec chroot $root /bin/nsleak --wait-signal --exec-worker --truth-dir /truth" || fail
d=$ma_tmp/cap
mkdir "$d"

"$MEMATTACH" --pid "$tpid" --follow-fork -o "$d/cap" >"$d/mout" 2>"$d/err" </dev/null &
mpid=$!
ma_wait_for "$d/err" 'tracking 1 process' 30 || { ma_show "memattach stderr" "$d/err"; echo "FAIL: memattach never said 'tracking 1 process'"; fail; }
grep -q " /memfd:$AGENT_NAME (deleted)$" "/proc/$tpid/maps" ||
	{ echo "FAIL: the agent is not mapped from a memfd: $(grep "$AGENT_NAME" "/proc/$tpid/maps" | head -n 1)"; fail; }
grep -q "^memattach: note: process $tpid will load the agent from memory .*programs they exec are not" "$d/err" ||
	{ ma_show "memattach stderr" "$d/err"; echo "FAIL: no note that execs are not followed"; fail; }

# a stranger on the abstract socket (found by memattach's listening inode)
ino=
for f in /proc/"$mpid"/fd/*; do
	i=$(readlink "$f" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
	[ -n "$i" ] && name=$(awk -v i="$i" '$7 == i && $8 ~ /^@/ { print substr($8, 2) }' "/proc/$tpid/net/unix") &&
		[ -n "$name" ] && { ino=$i; break; }
done
[ -n "$ino" ] || { echo "FAIL: memattach's abstract socket not found in the target's network namespace"; fail; }
nsenter --net="/proc/$tpid/ns/net" setpriv --reuid=65534 --regid=65534 --clear-groups "$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect("\0" + sys.argv[1])
print("connected", flush=True)
time.sleep(30)' "$name" >"$d/stranger" 2>&1 &
spid=$!
ma_wait_for "$d/err" "^memattach: refused a connection from pid [0-9]* (uid 65534: not the target's user)" 30 ||
	{ ma_show "stranger" "$d/stranger"; ma_show "memattach stderr" "$d/err"; echo "FAIL: the stranger's connection was not refused"; kill "$spid"; fail; }
kill "$spid"
wait "$spid" 2>/dev/null

kill -USR1 "$tpid"
i=0
until [ "$(cat /proc/"$tpid"/root/truth/truth.* 2>/dev/null | grep -c '^{"total_allocations"')" = 4 ]; do
	i=$((i + 1))
	[ "$i" -gt 2400 ] && { echo "FAIL: the workload did not finish"; fail; }
	sleep 0.05
done
cp /proc/"$tpid"/root/truth/truth.* "$d/" || fail
kill -INT "$mpid"
wait_gone "$mpid" 60 || { echo "FAIL: memattach did not end after SIGINT"; fail; }
rc=$wrc
ma_show "memattach stderr" "$d/err"
[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc (want 0)"; fail; }
ns_stop_target || fail
ls "$d"/cap.* >/dev/null 2>&1 && [ "$(ls "$d"/cap.* | wc -l)" = 3 ] ||
	{ echo "FAIL: captures $(ls "$d"), want cap and 3 workers' (none for the stranger)"; fail; }
# the exec'd program's truth (worker 2's work) has no capture of its own
t=$(grep -l '"leaked_bytes": 99990,' "$d"/truth.*) || { echo "FAIL: no truth of the exec'd program"; fail; }
mv "$t" "$d/exec.${t##*.}"
report_json "$d/cap.${t##*.}" "$d/exec.json" || fail
"$PYTHON" - "$d/exec.json" <<'PY' || fail
import json, sys
s = json.load(open(sys.argv[1]))
# before the exec: 5 blocks of 777 B, or fewer (the batch the image had
# not sent yet goes with it); nothing of the exec'd program's 166479 B
if s["total_bytes_allocated"] > 3885 or s["total_allocations"] > 5:
    print(f"FAIL: worker 2's capture holds {s['total_allocations']} allocations, {s['total_bytes_allocated']} B: more than before its exec (5, 3885 B)")
    sys.exit(1)
PY
[ -s "$ma_tmp/terr" ] && { ma_show "target stderr" "$ma_tmp/terr"; echo "FAIL: the target wrote to its stderr"; fail; }
check_prefork "$d" "$d/cap" 3 || fail
echo "ns-memfd-follow: --follow-fork with the agent from memory: the master and its workers captured exactly, an exec not followed (the program untouched); a stranger's connection refused"

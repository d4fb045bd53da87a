#!/bin/sh
# ns-inside.sh — memattach itself in a container that shares the target's
# pid namespace but not its file system (kubectl debug --target, docker
# run --pid=container:X): memattach entered into the target's pid
# namespace (nsenter --pid) with a mount namespace of its own and /proc
# mounted for that pid namespace, attaching `--pid 1`.  Exact truth and
# names; the pid is the target's own (1), with no second number.
. "$(dirname "$0")/ns-common.sh"
command -v nsenter >/dev/null || { echo "SKIP: nsenter (util-linux) not found"; exit 77; }
fail() { kill -9 "${tpid:-}" "${upid:-}" "${mpid:-}" 2>/dev/null; exit 1; }

root=$ma_tmp/root
ns_make_root "$root" || { echo "FAIL: cannot build the root"; exit 1; }
echo "=== target: unshare --mount --pid --net --fork chroot ROOT /bin/nsleak"
ns_start "$root" unshare --mount --pid --net --fork chroot "$root" /bin/nsleak --wait-signal || fail
echo "=== nsenter --target $tpid --pid -- unshare --mount --fork: mount /proc; memattach --pid 1"
nsenter --target "$tpid" --pid -- unshare --mount --fork sh -c \
	"mount -t proc proc /proc && exec $MEMATTACH --pid 1 -o $ma_tmp/in.cap" \
	>"$ma_tmp/mout" 2>"$ma_tmp/merr" </dev/null &
npid=$!
ma_wait_for "$ma_tmp/merr" '^memattach: tracking pid 1 ' 60 || { ma_show "memattach stderr" "$ma_tmp/merr"; echo "FAIL: memattach inside is not tracking"; fail; }
# memattach's own pid, as seen here: the one in the target's pid namespace
mpid=$(pgrep -f "^$MEMATTACH --pid 1 -o $ma_tmp/in.cap") || fail
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/out" '^{"total_allocations"' 60 || { echo "FAIL: the workload did not finish"; fail; }
kill -INT "$mpid"
wait_gone "$npid" 30 || { echo "FAIL: memattach did not exit"; fail; }
ma_show "memattach stderr" "$ma_tmp/merr"
[ "$wrc" = 0 ] || { echo "FAIL: memattach inside exited $wrc"; fail; }
ns_stop_target || fail
ma_show "target stdout" "$ma_tmp/out"
report_json "$ma_tmp/in.cap" "$ma_tmp/s.json" || exit 1
"$PYTHON" "$ma_here/compare.py" "$ma_tmp/out" "$ma_tmp/s.json" || exit 1
"$PYTHON" - "$ma_tmp/s.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
if s["pid"] != 1 or "pid_in_namespace" in s:
    print(f"FAIL: pid {s['pid']}, pid_in_namespace {s.get('pid_in_namespace')}: want 1 and none (one namespace)")
    sys.exit(1)
PY
"$MEMATTACH" report summary --json "$ma_tmp/in.cap" | "$PYTHON" -c '
import json, sys
got = {t["function"]: (t["own_bytes"], t["own_count"]) for t in json.load(sys.stdin)["top"]}
want = {"ns_keep_big": (280000, 7), "ns_keep_small": (16650, 50)}
sys.exit(0 if all(got.get(f) == v for f, v in want.items()) else print("FAIL: names", got) or 1)' || exit 1
echo "ns-inside: exact, pid 1"

#!/bin/sh
# disk-full.sh — the disk fills up mid-capture (a 1 MiB tmpfs the test
# mounts and unmounts): memattach says so once, with its prefix, exits 4,
# and the capture keeps everything that fit: `report` reads it (truncated)
# and counts exactly the allocations in the whole records of the file
# (tests/unit/capframes decodes them on its own).
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: mounting a small tmpfs needs root"
	exit 77
fi
mnt=$ma_tmp/full
mkdir "$mnt"
if ! mount -t tmpfs -o size=1m,mode=0700 memattach-disk-full-test "$mnt"; then
	echo "SKIP: cannot mount a tmpfs here"
	exit 77
fi
trap 'umount "$mnt"; rm -rf "$ma_tmp"' EXIT
cap=$mnt/threads.cap
"$MEMATTACH" run -o "$cap" -- "$TARGETS/threads" >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "stderr" "$ma_tmp/err"
fail=0
[ "$rc" = 4 ] || { echo "FAIL: memattach run exited $rc, want 4 (output error)"; fail=1; }
n=$(grep -c 'No space left on device' "$ma_tmp/err")
[ "$n" = 1 ] || { echo "FAIL: the disk-full error was printed $n times, want once"; fail=1; }
if grep -v '^memattach: ' "$ma_tmp/err" | grep -q .; then
	echo "FAIL: a line without the 'memattach: ' prefix"
	fail=1
fi
size=$(wc -c <"$cap")
[ "$size" -gt 900000 ] || { echo "FAIL: the capture has $size bytes: the disk was not filled"; fail=1; }
"$MEMATTACH" report stats --json "$cap" >"$ma_tmp/report.json" 2>"$ma_tmp/report.err"
rc=$?
ma_show "report stderr" "$ma_tmp/report.err"
[ "$rc" = 0 ] || { echo "FAIL: report stats exited $rc"; exit 1; }
grep -q 'truncated' "$ma_tmp/report.err" || { echo "FAIL: the report does not say the capture is truncated"; fail=1; }
"$ma_builddir/tests/unit/capframes" "$cap" >"$ma_tmp/frames" || { echo "FAIL: capframes"; exit 1; }
ma_show "frames" "$ma_tmp/frames"
"$PYTHON" - "$ma_tmp/report.json" "$ma_tmp/frames" "$ma_tmp/out" <<'PYEOF' || fail=1
import json, sys
rep = json.load(open(sys.argv[1]))
got = sum(v['count'] for v in rep['by_allocator'].values())
want = sum(int(l.split()[3]) for l in open(sys.argv[2]))
truth = json.loads(open(sys.argv[3]).read().splitlines()[-1])['total_allocations']
print("allocations read %d, in the file's whole records %d, made by the target %d" % (got, want, truth))
if got != want or not 0 < got < truth:
    sys.exit("FAIL: the report does not hold exactly what fit")
PYEOF
[ "$fail" = 0 ] && echo "PASS: one message, exit 4, everything that fit is read"
exit "$fail"

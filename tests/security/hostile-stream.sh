#!/bin/sh
# hostile-stream.sh — issue 12.4: the stream is untrusted whatever sent it.
# A target of another user (hostile_target) loads two libraries of its
# own, then puts a symlink to a root-only ELF of the first one's build id
# in place of the first and a FIFO in place of the second; a genuine
# agent's Module records name those paths.  Root's memattach must read
# nothing the user cannot (no secret_function_name_xyz in the capture),
# must not hang on the FIFO (bounded by timeout), and must exit 0 with
# the events counted and the target's own functions named.
. "$(dirname "$0")/seccommon.sh"
CC=${CC:-cc}
bid=0x5ec0de5ec0de5ec0de5ec0de5ec0de5ec0de5ec0

ulib=$sec_work/userlib secret=$sec_work/rootonly
mkdir -m 0755 "$ulib"
mkdir -m 0700 "$secret"
src=$(dirname "$0")/seclib.c
for n in A B; do
	$CC -shared -fPIC -O1 -g -Wl,--build-id=$bid -o "$ulib/lib$n.so" "$src" ||
		{ echo "FAIL: cannot build lib$n.so"; exit 1; }
done
$CC -shared -fPIC -O1 -g -Wl,--build-id=$bid -DFN=secret_function_name_xyz -o "$secret/secret.so" "$src" ||
	{ echo "FAIL: cannot build secret.so"; exit 1; }
chmod 0600 "$secret/secret.so"
chown "$sec_uid:$sec_gid" "$ulib" "$ulib"/*

$as_user "$ma_builddir/tests/security/hostile_target" "$ulib/libA.so" "$ulib/libB.so" "$secret/secret.so" \
	</dev/null >"$ma_tmp/tout" 2>&1 &
tpid=$!
sec_pids=$tpid
ma_wait_for "$ma_tmp/tout" '^ready' 20 || { echo "FAIL: the target did not start"; ma_show target "$ma_tmp/tout"; exit 1; }
[ -p "$ulib/libB.so" ] && [ -L "$ulib/libA.so" ] || { echo "FAIL: the target did not swap its files"; exit 1; }

TMPDIR=$sec_work/tmp timeout -s KILL 60 "$MEMATTACH" --pid "$tpid" -o "$ma_tmp/c.cap" \
	>/dev/null 2>"$ma_tmp/err" &
mpid=$!
sec_pids="$tpid $mpid"
ma_wait_for "$ma_tmp/err" 'tracking pid' 30 || { echo "FAIL: memattach did not attach"; ma_show "memattach stderr" "$ma_tmp/err"; exit 1; }
kill -USR1 "$tpid"
ma_wait_for "$ma_tmp/tout" '^done' 30 || { echo "FAIL: the target did not allocate"; exit 1; }
kill -INT "$mpid"
wait "$mpid"
rc=$?
ma_show "memattach stderr" "$ma_tmp/err"
[ "$rc" != 137 ] || { echo "FAIL: memattach hung (killed after 60 s; the FIFO?)"; exit 1; }
[ "$rc" = 0 ] || { echo "FAIL: memattach exited $rc, want 0"; exit 1; }
"$ma_builddir/tests/symbols/symcheck" "$ma_tmp/c.cap" >"$ma_tmp/syms" || { echo "FAIL: symcheck"; exit 1; }
ma_show "symbols (first lines)" "$ma_tmp/syms"
if grep -q secret_function_name_xyz "$ma_tmp/syms"; then
	echo "FAIL: the capture holds a symbol of the root-only file"
	exit 1
fi
# the events were captured, and the target's own binary (which its user
# can read) is still symbolized
"$MEMATTACH" report stats --json "$ma_tmp/c.cap" >"$ma_tmp/stats.json" || { echo "FAIL: report stats"; exit 1; }
"$PYTHON" - "$ma_tmp/stats.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
n = s.get("total_allocations", -1)
if n < 100:
    print("FAIL: %s allocations captured, want at least the target's 100" % n)
    sys.exit(1)
PY
grep -q "	main	" "$ma_tmp/syms" || { echo "FAIL: the target's main is not named"; exit 1; }
echo "PASS: no secret symbol, no hang"

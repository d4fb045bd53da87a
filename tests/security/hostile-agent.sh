#!/bin/sh
# hostile-agent.sh — issue 12.4: a target of another user loads its own
# library named libmemattach-agent.so (built here) with the agent's entry
# point.  Root's memattach must not take it for its agent: no call into
# it (it would leave a mark file), a clear refusal, exit 16.
. "$(dirname "$0")/seccommon.sh"
CC=${CC:-cc}

lib=$sec_work/lib
mkdir -m 0755 "$lib"
$CC -shared -fPIC -o "$lib/libmemattach-agent.so" "$(dirname "$0")/fake_agent.c" ||
	{ echo "FAIL: cannot build the fake agent"; exit 1; }
mkdir -m 1777 "$sec_work/marks"
mark=$sec_work/marks/called

MA_FAKE_MARK=$mark $as_user "$ma_builddir/tests/security/fake_loader" "$lib/libmemattach-agent.so" \
	</dev/null >"$ma_tmp/tout" 2>&1 &
tpid=$!
sec_pids=$tpid
ma_wait_for "$ma_tmp/tout" '^ready' 20 || { echo "FAIL: the target did not start"; ma_show target "$ma_tmp/tout"; exit 1; }

TMPDIR=$sec_work/tmp timeout -s KILL 60 "$MEMATTACH" --pid "$tpid" --duration 0.2 -o "$ma_tmp/c.cap" \
	>/dev/null 2>"$ma_tmp/err"
rc=$?
ma_show "memattach stderr" "$ma_tmp/err"
[ ! -e "$mark" ] || { echo "FAIL: memattach called the target's own libmemattach-agent.so"; exit 1; }
grep -q "not this memattach's agent" "$ma_tmp/err" ||
	{ echo "FAIL: no refusal naming the foreign agent"; exit 1; }
[ "$(grep -c . "$ma_tmp/err")" = 1 ] || { echo "FAIL: want one line of refusal"; exit 1; }
[ "$rc" = 16 ] || { echo "FAIL: memattach exited $rc, want 16 (agent failed)"; exit 1; }
[ -z "$(ls -A "$sec_work/tmp")" ] || { echo "FAIL: left in TMPDIR: $(ls -A "$sec_work/tmp")"; exit 1; }
echo "PASS: the fake agent was refused"

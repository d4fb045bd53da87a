#!/bin/sh
# agent-start-oom.sh — the agent is loaded but cannot start for lack of
# memory (issue 13): memattach --pid exits 16 with one line saying why
# (the process's address-space limit), and the target runs on with its GOT
# unchanged and nothing of the session mapped (the agent's libraries stay,
# idle, for a later attach):
#  - RLIMIT_AS 8 MiB above the target's size: the agent's libraries load
#    (about 2 MiB here), its 32 MiB table of stacks cannot be mapped: the
#    start call fails with ENOMEM ("could not map its tables");
#  - RLIMIT_AS 36 MiB above (the agent now loaded): the table and the
#    batch scratch fit, its thread's 8 MiB stack (RLIMIT_STACK 8 MiB) does
#    not: EAGAIN ("could not start its thread"), and the table and scratch
#    this start mapped are given back: the maps are the same to the byte;
#  - the limit raised: an attach works (the agent found loaded).
# The GOT check reads the target's slot for pthread_create (a hooked call
# it imports) from /proc/PID/mem; that it sees a patch is shown while the
# last attach tracks.  Target: tests/targets/errno_keeper (exit 3 when its
# errno changed under it).
. "$(dirname "$0")/inject-common.sh"
fail() { kill -9 ${epid:-} ${mpid:-} 2>/dev/null; exit 1; }
command -v prlimit >/dev/null && command -v readelf >/dev/null ||
	{ echo "SKIP: prlimit (util-linux) and readelf (binutils) are needed"; exit 77; }

# got_slot PID SYMBOL — the 8 bytes of PID's executable's GOT slot for
# SYMBOL, in hex.
got_slot() {
	"$PYTHON" - "$1" "$2" <<'PY'
import os, subprocess, sys
pid, sym = sys.argv[1], sys.argv[2]
exe = os.readlink(f"/proc/{pid}/exe")
base = next(int(l.split("-")[0], 16) for l in open(f"/proc/{pid}/maps")
            if l.split()[-1] == exe and int(l.split()[2], 16) == 0)
off = next(int(l.split()[0], 16) for l in subprocess.run(["readelf", "-rW", exe], capture_output=True,
           text=True, check=True).stdout.splitlines() if f" {sym}@" in l)
with open(f"/proc/{pid}/mem", "rb") as m:
    m.seek(base + off)
    print(m.read(8).hex())
PY
}
vm_bytes() { echo $(($(sed -n 's/^VmSize:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status") * 1024)); }

# no_start PID WHAT — memattach --pid PID exits 16 saying WHAT in one line
# (inject-common.sh), and the GOT slot is unchanged.
no_start() {
	attach_refused "$1" 16 "^memattach: the agent could not start in pid $1: $2.*; the agent stays loaded, idle, and the process runs on; raise its limit" || return 1
	[ "$(got_slot "$1" pthread_create)" = "$got0" ] || { echo "FAIL: the GOT slot of pthread_create changed"; return 1; }
}

# anon_added — KiB of anonymous mappings maps1 has more than maps0.
anon_added() {
	"$PYTHON" - "$ma_tmp/maps0" "$ma_tmp/maps1" <<'PY'
import sys
def anon(path):
    return sum(int(l.split()[0].split("-")[1], 16) - int(l.split()[0].split("-")[0], 16)
               for l in open(path) if len(l.split()) == 5)
print((anon(sys.argv[2]) - anon(sys.argv[1])) // 1024)
PY
}

prlimit --stack=8388608: "$TARGETS/errno_keeper" >"$ma_tmp/eout" 2>"$ma_tmp/eerr" </dev/null &
epid=$!
ma_wait_for "$ma_tmp/eout" '^ready ' 10 || { echo "FAIL: errno_keeper did not start"; fail; }
got0=$(got_slot "$epid" pthread_create) || { echo "FAIL: cannot read the GOT of pid $epid"; fail; }
as0=$(prlimit --pid "$epid" --as -o SOFT --noheadings --raw) || fail

echo "=== RLIMIT_AS 8 MiB above its size: the libraries load, the table of stacks does not fit"
prlimit --pid "$epid" --as="$(($(vm_bytes "$epid") + 8388608)):" || fail
no_start "$epid" "it could not map its tables (Cannot allocate memory): the process is at its address-space limit (RLIMIT_AS)" || fail
agent_mapped "$epid" || { echo "FAIL: the agent was not loaded (the limit left no room for it: the test proves nothing)"; fail; }
added=$(anon_added)
# the table is 32 MiB, the thread's stack 8: the libraries' own data is less
[ "$added" -lt 1024 ] || { echo "FAIL: $added KiB of anonymous mappings added (the session's tables or thread?)"; diff "$ma_tmp/maps0" "$ma_tmp/maps1"; fail; }
echo "--- refused, the GOT unchanged; added: the agent's libraries and $added KiB of their data"

echo "=== RLIMIT_AS 36 MiB above: the table fits, the agent's thread does not"
prlimit --pid "$epid" --as="$(($(vm_bytes "$epid") + 37748736)):" || fail
no_start "$epid" "it could not start its thread (Resource temporarily unavailable): the process is at its thread or address-space limit" || fail
if ! cmp -s "$ma_tmp/maps0" "$ma_tmp/maps1"; then
	echo "FAIL: the target's maps changed (what the failed start mapped was not given back):"
	diff "$ma_tmp/maps0" "$ma_tmp/maps1" | head -n 20
	fail
fi
echo "--- refused, the GOT and maps unchanged ($(wc -l <"$ma_tmp/maps1") mappings)"

echo "=== the limit raised: an attach starts the loaded agent"
prlimit --pid "$epid" --as="$as0:" || fail
attach_bg "$epid" "$ma_tmp/a.cap" || fail
[ "$(got_slot "$epid" pthread_create)" != "$got0" ] ||
	{ echo "FAIL: the GOT slot is the same while tracking (the check cannot see a patch)"; fail; }
stop_attach || fail
[ "$(got_slot "$epid" pthread_create)" = "$got0" ] || { echo "FAIL: the GOT slot not restored after the detach"; fail; }
kill -USR2 "$epid"
wait_gone "$epid" 30 || { echo "FAIL: errno_keeper did not exit"; fail; }
ma_show "errno_keeper" "$ma_tmp/eout"
[ "$wrc" = 0 ] || { echo "FAIL: errno_keeper exited $wrc (3: its errno changed under it)"; exit 1; }
echo "agent-start-oom: exit 16 naming the limit, the GOT unchanged, nothing of the session left; a later attach works"

#!/bin/bash
# attach-stall.sh — an attach stops no thread of the target for long: only
# dlopen and the agent's start call run on the thread the injector stops;
# the GOT patching and the rest run on the agent's own thread.
#
# The target (spingap) spins in two threads and measures the time each was
# away from its own code (gaps between its clock readings less the time it
# waited for a CPU), so machine load does not count on its side.  Checks,
# for a first attach (the agent gets loaded) and a second (already loaded):
#  - the start call's CPU time, as the agent measured it: at most 0.5 ms;
#  - the stopped thread: at most 5 ms + the CPU time of dlopen(agent) (first
#    attach) + the time memattach itself waited for a CPU until it tracked
#    (a tracer off the CPU keeps the thread stopped: that is load);
#  - the other thread: at most 5 ms + the time memattach waited for a CPU (the
#    injector moves to another thread when the first is not at a safe point
#    after three looks, and a thread it looks at is stopped while it looks).
. "$(dirname "$0")/../integration/common.sh"
START_CALL_MAX_NS=500000
STOP_MAX_NS=5000000
fail=0
bad() { echo "FAIL: $*"; fail=1; }
trap 'kill -9 "$gp" "$mp" 2>/dev/null; rm -rf "$ma_tmp"' EXIT
agent=$ma_builddir/agent/.libs/libmemattach-agent.so
spin=$ma_builddir/tests/threshold/spingap

dl=$("$spin" --dlopen "$agent" | sed -n 's/^dlopen_cpu_ns=//p')
[ -n "$dl" ] || { echo "FAIL: cannot time dlopen of $agent"; exit 1; }
echo "--- dlopen of the agent: $((dl / 1000)) us of CPU"

"$spin" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
gp=$!
ma_wait_for "$ma_tmp/out" '^ready ' 10 || { echo "FAIL: spingap did not start"; exit 1; }
read -r _ _ seized other < <(grep '^ready ' "$ma_tmp/out")

for k in 1 2; do
	kill -USR1 "$gp"
	ma_wait_for "$ma_tmp/out" "^open $k\$" 10 || { echo "FAIL: window $k did not open"; exit 1; }
	"$MEMATTACH" --pid "$gp" -o "$ma_tmp/$k.cap" >/dev/null 2>"$ma_tmp/err$k" </dev/null &
	mp=$!
	while ! grep -q 'tracking pid' "$ma_tmp/err$k"; do
		if ! kill -0 "$mp" 2>/dev/null; then
			wait "$mp"
			rc=$?
			ma_show "memattach stderr" "$ma_tmp/err$k"
			[ "$rc" = 6 ] && { echo "SKIP: ptrace is not permitted here"; exit 77; }
			echo "FAIL: memattach --pid exited $rc before tracking"
			exit 1
		fi
		sleep 0.02
	done
	# memattach's own wait for a CPU so far (schedstat's second field)
	cli_delay=$(awk '{ print $2 }' "/proc/$mp/schedstat")
	kill -USR1 "$gp"
	ma_wait_for "$ma_tmp/out" "^window $k tid=$other " 10 || { echo "FAIL: window $k did not close"; exit 1; }
	kill -INT "$mp"
	wait "$mp" || bad "memattach exited $? after SIGINT (attach $k)"
	"$MEMATTACH" report stats --json "$ma_tmp/$k.cap" >"$ma_tmp/$k.json" || bad "report of attach $k"
	slack=$((STOP_MAX_NS + cli_delay + (k == 1 ? dl : 0)))
	"$PYTHON" - "$ma_tmp/$k.json" "$ma_tmp/out" "$k" "$seized" "$other" "$slack" \
		"$START_CALL_MAX_NS" "$STOP_MAX_NS" "$cli_delay" <<'EOF' || fail=1
import json, re, sys
r = json.load(open(sys.argv[1]))
out = open(sys.argv[2]).read()
k, seized, other = sys.argv[3], sys.argv[4], sys.argv[5]
slack, start_max, stop_max, cli_delay = (int(x) for x in sys.argv[6:10])
def stolen(tid):
    m = re.search(rf"^window {k} tid={tid} stolen_ns=(\d+) gap_ns=(\d+)$", out, re.M)
    return int(m.group(1)), int(m.group(2))
ok = True
call, cpu = r["agent_start_call_ns"], r["agent_start_call_cpu_ns"]
s_st, s_gap = stolen(seized)
o_st, o_gap = stolen(other)
print(f"attach {k}: start call {cpu / 1e3:.0f} us CPU ({call / 1e3:.0f} us wall); "
      f"stopped thread away {s_st / 1e6:.2f} ms (bound {slack / 1e6:.2f} ms: memattach "
      f"waited {cli_delay / 1e6:.2f} ms for a CPU); other thread {o_st / 1e6:.2f} ms; "
      f"largest raw gaps {s_gap / 1e6:.1f} / {o_gap / 1e6:.1f} ms")
if not 0 < cpu <= start_max:
    print(f"FAIL: the start call took {cpu} ns of CPU on the stopped thread (max {start_max})")
    ok = False
if s_st > slack:
    print("FAIL: the stopped thread was away longer than its bound")
    ok = False
if o_st > stop_max + cli_delay:
    print("FAIL: the other thread was away longer than 5 ms + memattach's wait for a CPU")
    ok = False
sys.exit(0 if ok else 1)
EOF
done
kill -TERM "$gp"
[ $fail = 0 ] && echo "PASS: attach-stall"
exit $fail

#!/bin/bash
# attach-stall.sh — no thread of the target is stopped more than 5 ms by an
# attach (issue 13): the thread the injector stops only starts a loader
# thread (a mmap and pthread_create); dlopen, the agent's start call, the
# GOT patching and the rest run on threads of their own.
#
# Whose fault is a long stop?  The target (spingap) spins in two threads
# and measures, between two readings of its clock, the time the thread was
# away from its own code less the time it waited for a CPU (its run delay,
# /proc/thread-self/schedstat) and less its CPU time: the load on the
# target's side does not count, nor does the host taking the VM's vCPU
# away (100 ms at a time, its CPU quota's period: with no steal clock the
# guest counts it as CPU time of the thread that was on the vCPU).  What is
# left is the time in a ptrace stop, or asleep in injected code (a dlopen
# waiting for the loader's lock).  The stop lasts as long as the tracer's
# work, and the tracer's own wait for a CPU: memattach takes that out of the scheduler's
# hands (its tracer runs SCHED_FIFO from the seize to the release), so any
# stop longer than 5 ms is memattach's doing (work done while the thread is
# stopped, polling, dlopen on the stopped thread), whatever the load.  Where
# realtime scheduling is not permitted the bound cannot be told from load:
# SKIP.
#
# A third thread of the target dlopens and dlcloses a library whose
# constructor takes 20 ms, in a loop, as a program loading plugins does:
# the loader's lock is held most of the time, and a dlopen on the stopped
# thread would wait for it (dlopen's time is the loader's and the disk's,
# not ours to bound: it must not run there).
#
# 10 attaches to one target (the first loads the agent, the others find it
# loaded); both spinning threads' longest stolen time <= 5 ms in all of
# them but two (machine noise, below), and the agent's start call (parse, check the socket, map its tables,
# start its thread) <= 2 ms of CPU in the median of the 10 (80-900 us
# measured; it runs on the loader thread and stops nothing, so the bound
# only catches the agent's thread work (hooks, GOT, modules) moved back
# into it, which every call would show; one call took 8.4 ms under a
# loaded distcheck: its mmaps wait on the busy loader's mmap lock, and
# the kernel spins for such a lock on the caller's CPU time).
# Before the loader thread the stopped thread was away
# 28-332 ms on a machine at load 20 (7-14 ms with memattach under chrt -f,
# no busy loader).
. "$(dirname "$0")/stall-common.sh"
ATTACHES=10
START_CALL_MAX_NS=2000000
STOP_MAX_NS=5000000

"$spin" --busy-loader "$slowlib" >"$ma_tmp/out" 2>"$ma_tmp/terr" </dev/null &
gp=$!
ma_wait_for "$ma_tmp/out" '^ready ' 10 || { echo "FAIL: spingap did not start"; exit 1; }
read -r _ _ seized other < <(grep '^ready ' "$ma_tmp/out")

for k in $(seq 1 $ATTACHES); do
	stall_attach "$k" "$ma_tmp/$k.cap"
	stall_detach "$k" "$other"
	"$MEMATTACH" report stats --json "$ma_tmp/$k.cap" >"$ma_tmp/$k.json" || bad "report of attach $k"
done
kill -TERM "$gp"

"$PYTHON" - "$ma_tmp" "$ATTACHES" "$seized" "$other" "$STOP_MAX_NS" "$START_CALL_MAX_NS" <<'EOF' || fail=1
import json, re, sys
tmp, n, seized, other = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
stop_max, start_max = int(sys.argv[5]), int(sys.argv[6])
out = open(f"{tmp}/out").read()
def stolen(k, tid):
    m = re.search(rf"^window {k} tid={tid} stolen_ns=(\d+) gap_ns=(\d+)$", out, re.M)
    return int(m.group(1)), int(m.group(2))
ok = True
worst = [0, 0]
over = [0, 0]   # attaches over stop_max, per thread
cpus = []
for k in range(1, n + 1):
    r = json.load(open(f"{tmp}/{k}.json"))
    cpu = r["agent_start_call_cpu_ns"]
    cpus.append(cpu)
    s_st, s_gap = stolen(k, seized)
    o_st, o_gap = stolen(k, other)
    worst = [max(worst[0], s_st), max(worst[1], o_st)]
    print(f"attach {k}: stopped thread away {s_st / 1e6:.2f} ms, other thread {o_st / 1e6:.2f} ms "
          f"(largest raw gaps {s_gap / 1e6:.1f} / {o_gap / 1e6:.1f} ms); start call {cpu / 1e3:.0f} us CPU")
    over[0] += s_st > stop_max
    over[1] += o_st > stop_max
    if not cpu > 0:
        print(f"FAIL: attach {k}: no start call CPU time in the capture")
        ok = False
print(f"longest over {n} attaches: stopped thread {worst[0] / 1e6:.2f} ms, other {worst[1] / 1e6:.2f} ms")
# The machine alone took a spinning thread away now and then, outside its
# run delay, with no memattach anywhere, when the CPU time was not taken
# out: spingap's windows of 1 s on this 2-core VM at load 7, none
# attached, showed 5 of 600 thread-windows over 5 ms: 100.1, 100.2 and
# 100.2 ms, and 42.7, 44.8 ms; in CI an attached target's never-stopped
# thread was away 100.2 ms in 2 of 3 containers (attach-stall-memfd.sh).
# A loop reading the three clocks showed 4 gaps of 100.1-100.8 ms in 3
# minutes at load 1.5, each all CPU time and no run delay: the host's.
# With the CPU time out, what is left to the machine is the tracer's own
# CPU taken away by the host in a stop.  What
# memattach does, it does at every attach (a dlopen on the stopped thread
# behind the busy loader's lock: 10 of 10 attaches over 5 ms, up to 694
# ms; the old stop: 7-332 ms each time), so a bound on the longest would
# fail on the machine: the bound is on how many attaches go over 5 ms.
for name, i in (("stopped", 0), ("other", 1)):
    if over[i] > 2:
        print(f"FAIL: the {name} thread was away over {stop_max / 1e6:g} ms in {over[i]} of {n} attaches "
              f"(longest {worst[i] / 1e6:.2f} ms; allowed: two, the machine's own)")
        ok = False
med = sorted(cpus)[len(cpus) // 2]
print(f"start call CPU: median {med / 1e3:.0f} us, largest {max(cpus) / 1e3:.0f} us")
if med > start_max:
    print(f"FAIL: the start call's median CPU is {med} ns (max {start_max})")
    ok = False
sys.exit(0 if ok else 1)
EOF
[ $fail = 0 ] && echo "PASS: attach-stall"
exit $fail

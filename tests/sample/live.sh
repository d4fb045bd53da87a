#!/bin/bash
# live.sh — `memattach live --sample 64KiB` (fixed seed) driven in tmux: a
# target that, once watched, leaks 512 blocks of 64 KiB from grow_here()
# and says so.  A refresh shows everything done before it was due, so the
# third refresh after the target's line holds the whole leak: the header
# says its heap is an estimate (~, "estimated from N samples (--sample
# 64.0 KiB)") within 4 standard deviations of 32 MiB, grow_here is the
# first row, and `s`'s snapshot is marked sampled with the exact counts.
set -u
top=$(cd "${top_builddir:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
ma="$top/memattach"
tmp=$(mktemp -d)
tv_sock=ma-smp-live-$$
. "$here/../lib/tmux-view.sh"
export MEMATTACH_SAMPLE_SEED=7 MEMATTACH_STALL_LIMIT=60s
grow=$((32 * 1024 * 1024))

"$top/tests/sample/sampled" grow $grow > "$tmp/target.out" &
tp=$!
for _ in $(seq 200); do grep -q ready "$tmp/target.out" && break; sleep 0.05; done
grep -q ready "$tmp/target.out" || { echo "FAIL: the target did not start"; exit 1; }
mkdir "$tmp/snaps"
tm new-session -d -s live -x 200 -y 50 -c "$tmp/snaps" \
	"'$ma' live --pid $tp --sample 64KiB --interval 200ms 2> '$tmp/err'; echo \$? > '$tmp/rc'; sleep 600"
wait_screen 'refresh [0-9]+ every' || exit 1
kill -USR1 $tp
for _ in $(seq 1200); do grep -q grown "$tmp/target.out" && break; sleep 0.05; done
grep -q grown "$tmp/target.out" || { echo "FAIL: the target did not grow"; exit 1; }
settle || exit 1
head_line=$(grep 'tracked heap' "$tmp/screen" | head -1)
first=$(awk '/own bytes +total bytes/ {getline; print; exit}' "$tmp/screen")
tm send-keys -t live s
wait_screen 'snapshot written: ' || exit 1
tm send-keys -t live q
for _ in $(seq 600); do [ -s "$tmp/rc" ] && break; sleep 0.05; done
snap=$(ls "$tmp/snaps"/*.memcap 2>/dev/null | head -1)
[ -n "$snap" ] || { echo "FAIL: no snapshot from 's'"; show; exit 1; }
"$ma" report stats --json "$snap" > "$tmp/stats.json" || { echo "FAIL: stats on the snapshot"; exit 1; }
PYTHONPATH="$here" python3 - "$tmp" $grow "$head_line" "$first" "$(cat "$tmp/rc")" <<'PY'
import json, re, sys
from theory import sd_bytes, within
d, grow, head, first, rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
S, B = 65536, 65536
ok = True
print("header: %s\nfirst row: %s" % (head, first))
if rc != "0":
    print("FAIL: live exited %s" % rc); ok = False
m = re.search(r"tracked heap ~\S+ \S* ?\(~([0-9,]+) B, peak ~.*estimated from (\d+) samples \(--sample 64(\.0)? KiB\)", head)
if not m:
    print("FAIL: the header does not mark the heap as an estimate"); sys.exit(1)
ok &= within("live view's heap", int(m.group(1).replace(",", "")), grow, sd_bytes(grow // B, B, S))
if "grow_here" not in first:
    print("FAIL: grow_here is not the first row"); ok = False
st = json.load(open(d + "/stats.json"))
sm = st["sampled"] or {}
if sm.get("interval") != S:
    print("FAIL: the snapshot is not marked sampled: %r" % sm); ok = False
ex = sm.get("exact") or {}
if ex != {"total_allocations": grow // B, "total_bytes_allocated": grow, "total_frees": 0}:
    print("FAIL: the snapshot's exact counts: %r" % ex); ok = False
print("PASS: live with --sample" if ok else "FAIL: live with --sample")
sys.exit(0 if ok else 1)
PY

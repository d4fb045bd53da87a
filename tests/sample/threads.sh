#!/bin/bash
# threads.sh — --sample 64KiB on the multi-threaded counting target
# (tests/targets/threads: threads that come and go): the exact counts
# (ThreadCounts, summed) equal the target's own totals, every thread's
# included, whatever was sampled.
set -u
top=${top_builddir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MEMATTACH_SAMPLE_SEED=3
"$top/memattach" run -q --sample 64KiB -o "$tmp/t.cap" -- "$top/tests/targets/threads" > "$tmp/out" \
	|| { echo "FAIL: memattach run exited $?"; exit 1; }
"$top/memattach" report stats --json "$tmp/t.cap" > "$tmp/stats.json" || { echo "FAIL: stats"; exit 1; }
python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
truth = json.loads(open(d + "/out").read().splitlines()[-1])
ex = json.load(open(d + "/stats.json"))["sampled"]["exact"]
ok = True
for k in ("total_allocations", "total_bytes_allocated", "total_frees"):
    print("%s: exact %d, truth %d" % (k, ex[k], truth[k]))
    ok &= ex[k] == truth[k]
print("PASS: threads" if ok else "FAIL: threads")
sys.exit(0 if ok else 1)
PY

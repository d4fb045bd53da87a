#!/bin/sh
# fork-walk.sh — followed forks while other threads allocate: no child may
# hang in what the agent does for it at the fork.  tests/targets/forkwalk
# forks 200 children one after the other while 3 threads malloc and free;
# each child mallocs 1000 B, frees it, walks the loader's list itself and
# exits 0, or is counted hung after 20 s.  Two hangs were found this way
# (before: 5 to 12 of 400 children hung):
#  - the condition variable the threads wait on for a batch, inherited with
#    the parent's waiters counted in it: the child's first broadcast waited
#    for them forever;
#  - the loader's list lock (dl_load_write_lock, not reset by glibc in a
#    child), held at the fork by an agent thread's walk: the child's next
#    walk waited forever.
# Every child's capture must hold its one allocation exactly.
. "$(dirname "$0")/attach-common.sh"
n=200
"$MEMATTACH" run --follow-fork -q -o "$ma_tmp/cap" -- "$TARGETS/forkwalk" $n 3 \
	>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
rc=$?
ma_show "memattach stderr" "$ma_tmp/err"
bad=0
[ "$rc" = 0 ] || { echo "FAIL: memattach run --follow-fork exited $rc"; bad=1; }
grep -qx "forks $n hung 0" "$ma_tmp/out" || { echo "FAIL: the target said: $(cat "$ma_tmp/out")"; bad=1; }
caps=$(ls "$ma_tmp" | grep -c '^cap\.')
[ "$caps" = $n ] || { echo "FAIL: $caps captures of children, want $n"; bad=1; }
wrong=0
for c in "$ma_tmp"/cap.*; do
	[ -f "$c" ] || continue
	"$MEMATTACH" report stats --json "$c" >"$ma_tmp/s.json" 2>"$ma_tmp/s.err" || { wrong=$((wrong + 1)); continue; }
	"$PYTHON" - "$ma_tmp/s.json" <<'PY' || wrong=$((wrong + 1))
import json, sys
s = json.load(open(sys.argv[1]))
got = (s["total_allocations"], s["total_bytes_allocated"], s["leaked_bytes"])
sys.exit(0 if got == (1, 1000, 0) else 1)
PY
done
[ "$wrong" = 0 ] || { echo "FAIL: $wrong of $caps child captures do not hold exactly one 1000 B allocation, freed"; bad=1; }
echo "--- $caps child captures checked, $wrong wrong"
exit "$bad"

#!/bin/sh
# thread-heap.sh — the agent leaves a new thread's heap as it is untracked:
# thread_heap's new thread finds its first 8 small blocks one after another
# in its own arena ("layout 0") both untracked and under memattach run, and
# the capture holds exactly what the target counted.  (The pthread_create
# hook's start block, once malloc'ed by the creator and freed by the new
# thread, gave that thread's first block from the creator's arena:
# "layout 1", and on bench/neutral 3.6x the page faults.)
. "$(dirname "$0")/common.sh"

bad=0
"$TARGETS/thread_heap" >"$ma_tmp/plain" 2>&1 </dev/null
grep -qx 'layout 0' "$ma_tmp/plain" || { echo "FAIL: untracked, the thread's blocks are not contiguous (the test proves nothing):"; cat "$ma_tmp/plain"; exit 1; }
check_run 0 thread_heap || bad=1
grep -qx 'layout 0' "$ma_tmp/out" || { echo "FAIL: under memattach run the new thread's heap differs: $(grep layout "$ma_tmp/out")"; bad=1; }
[ "$bad" = 0 ] && echo PASS
exit "$bad"

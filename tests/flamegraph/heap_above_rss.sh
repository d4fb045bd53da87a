#!/bin/sh
# heap_above_rss.sh — a `run` capture whose tracked heap is above RSS
# (untouched.c: 128 MiB allocated and never written) says why in summary,
# stats and the flame graph page's header; a capture whose heap is below
# RSS says nothing of it.
. "$(dirname "$0")/../integration/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
UNTOUCHED=$ma_builddir/tests/flamegraph/untouched
note="the tracked heap is above RSS: allocated pages the program has not touched yet (calloc, mmap, large buffers) count in the heap, and in RSS only once written"
fail=0
"$MEMATTACH" run -q -o "$ma_tmp/u.cap" -- "$UNTOUCHED" >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null ||
	{ ma_show stderr "$ma_tmp/err"; echo "FAIL: memattach run -- untouched"; exit 1; }
"$MEMATTACH" report stats --json "$ma_tmp/u.cap" >"$ma_tmp/s.json" || exit 1
check=$("$PYTHON" -c 'import json,sys; d=json.load(open(sys.argv[1])); w=int(open(sys.argv[2]).read().split()[1])
print("ok" if d["leaked_bytes"] == w and d["rss_at_end"] < w else "leaked %d (want %d), RSS %d" % (d["leaked_bytes"], w, d["rss_at_end"]))' \
	"$ma_tmp/s.json" "$ma_tmp/out")
if [ "$check" != ok ]; then echo "FAIL: the target's heap is not above RSS: $check"; exit 1; fi
echo "ok   leaked_bytes = the target's 134217728, above RSS"
for f in summary stats; do
	"$MEMATTACH" report $f --leaks "$ma_tmp/u.cap" >"$ma_tmp/$f.txt" || fail=1
	if grep -qxF "note: $note" "$ma_tmp/$f.txt"; then echo "ok   $f: the note"; else
		echo "FAIL: $f has no line 'note: $note'"; cat "$ma_tmp/$f.txt"; fail=1; fi
done
"$MEMATTACH" run -q -o "$ma_tmp/l.cap" -- "$TARGETS/leaker" 10 10 >/dev/null 2>&1 </dev/null || fail=1
"$MEMATTACH" report summary "$ma_tmp/l.cap" >"$ma_tmp/l.txt" || fail=1
if grep -q "above RSS" "$ma_tmp/l.txt"; then echo "FAIL: leaker's summary speaks of a heap above RSS"; fail=1; fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	"$MEMATTACH" report flamegraph "$ma_tmp/u.cap" -o "$ma_tmp/u.html" &&
		"$PYTHON" "$here/check_page.py" "$ma_tmp/u.html" --note "Note: $note." --any-facts || fail=1
else
	echo "note: no chromium: the page's header not checked"
fi
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"

#!/bin/sh
# flamegraph.sh — `memattach report flamegraph`: the page loads in headless
# Chromium without errors or network use and shows the exact values of a
# synthetic capture with a known call tree (per mode, per thread, per moment;
# zoom by click, search); a real capture of a counting target loads too and
# its views add up to `report stats`.  Skips (77) only without Chromium.
# MA_FLAME_SCREENSHOT=PATH keeps the screenshot (docs/flamegraph.png).
. "$(dirname "$0")/../integration/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
MKFLAME=$ma_builddir/tests/flamegraph/mkflame

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	echo "SKIP: chromium is not installed (apt-get install chromium)"
	exit 77
fi
fail=0

echo "=== synthetic capture with a known call tree"
"$MKFLAME" "$ma_tmp/small.cap" >"$ma_tmp/truth.json" || { echo "FAIL: mkflame"; exit 1; }
"$MEMATTACH" report flamegraph "$ma_tmp/small.cap" -o "$ma_tmp/small.html" || { echo "FAIL: report flamegraph exited $?"; exit 1; }
# Offline: nothing in the page may point outside it.
if grep -Eiq '(src|href)=["'"'"']?(https?:)?//|@import|url\(' "$ma_tmp/small.html"; then
	echo "FAIL: the page references something outside itself:"
	grep -Eio '.{0,40}((src|href)=["'"'"']?(https?:)?//|@import|url\().{0,40}' "$ma_tmp/small.html" | head
	fail=1
fi
"$PYTHON" "$here/check_page.py" "$ma_tmp/small.html" --truth "$ma_tmp/truth.json" \
	--click build_index --search parse_input \
	${MA_FLAME_SCREENSHOT:+--screenshot "$MA_FLAME_SCREENSHOT"} || fail=1

echo "=== real capture: tests/targets/single under memattach run"
if "$MEMATTACH" run -o "$ma_tmp/single.cap" -- "$TARGETS/single" >/dev/null 2>"$ma_tmp/err" </dev/null; then
	"$MEMATTACH" report stats --json "$ma_tmp/single.cap" >"$ma_tmp/stats.json" &&
	"$MEMATTACH" report flamegraph "$ma_tmp/single.cap" -o "$ma_tmp/single.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/single.html" --stats "$ma_tmp/stats.json" || fail=1
else
	ma_show "memattach run stderr" "$ma_tmp/err"
	echo "FAIL: memattach run -- single"
	fail=1
fi

echo "=== bad input"
"$MEMATTACH" report flamegraph "$ma_tmp/nothing.cap" -o "$ma_tmp/x.html" 2>"$ma_tmp/err"
rc=$?
if [ "$rc" != 3 ] || [ -e "$ma_tmp/x.html" ]; then
	echo "FAIL: a missing capture: exit $rc (want 3) and no page left behind"
	fail=1
fi
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"

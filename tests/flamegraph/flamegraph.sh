#!/bin/sh
# flamegraph.sh — `memattach report flamegraph`: the page loads in headless
# Chromium without errors or network use and shows the exact values of a
# synthetic capture with a known call tree (per mode, per thread, per moment,
# inverted, per dragged time range; zoom by click, search) and of its --base
# page against an older capture (pprof --base too, read by go tool pprof); a
# real capture of a counting target loads too and its views and size
# histogram add up to `report stats`; a Python program's page labels boxes
# with file:line, colours them by kind and hides import machinery and the
# interpreter's frames until their toggles are clicked; --base on two runs
# of a leaker at known rates.  Skips (77) only without Chromium.
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

echo "=== report --inverted: the page starts inverted"
"$MEMATTACH" report flamegraph --inverted "$ma_tmp/small.cap" -o "$ma_tmp/inv.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/inv.html" --truth "$ma_tmp/truth.json" || fail=1

echo "=== time ranges with report filters (the thread filter by id and by name, --min-size)"
echo '{"ranges": [[500, 22000, {"all": 12000}], [15500, 22000, {"all": 2000}], [500, 37000, {"all": 2000}]]}' >"$ma_tmp/rt.json"
echo '{"ranges": [[500, 22000, {"all": 22288}], [15500, 22000, {"all": 12288}], [500, 37000, {"all": 12288}]]}' >"$ma_tmp/rs.json"
for f in "--thread 101 rt" "--thread worker rt" "--min-size 1500 rs"; do
	set -- $f
	"$MEMATTACH" report flamegraph "$1" "$2" "$ma_tmp/small.cap" -o "$ma_tmp/f.html" &&
		"$PYTHON" "$here/check_page.py" "$ma_tmp/f.html" --range-truth "$ma_tmp/$3.json" || fail=1
done

echo "=== --base: the same program's first phase as the base"
"$MKFLAME" "$ma_tmp/older.cap" --older >"$ma_tmp/diff.json" || { echo "FAIL: mkflame --older"; exit 1; }
"$MEMATTACH" report flamegraph --base "$ma_tmp/older.cap" "$ma_tmp/small.cap" -o "$ma_tmp/diff.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/diff.html" --diff-truth "$ma_tmp/diff.json" || fail=1
# pprof: the base's samples negated, so pprof's cumulative values are the
# changes per function (the same truth as the page's)
"$MEMATTACH" report pprof --leaks --base "$ma_tmp/older.cap" "$ma_tmp/small.cap" -o "$ma_tmp/diff.pb.gz" || fail=1
if command -v go >/dev/null 2>&1; then
	go tool pprof -top -sample_index=inuse_space -unit=B "$ma_tmp/diff.pb.gz" >"$ma_tmp/top" 2>&1
	got=$(awk '$NF ~ /^[a-z_]+$/ && $4 ~ /B$|^0$/ {print $NF, $4}' "$ma_tmp/top" | sort | tr '\n' ' ')
	want="build_index -8000B grow_buf -18000B leak_cache 12288B load_config 12288B main 4288B parse_input -8000B worker_thread -10000B "
	if [ "$got" != "$want" ] || ! grep -q "accounting for -5712B" "$ma_tmp/top"; then
		cat "$ma_tmp/top"
		echo "FAIL: pprof --base: cumulative changes '$got' (want '$want', total -5712B)"
		fail=1
	else
		echo "ok   pprof --base: $got"
	fi
else
	echo "note: go not installed (apt-get install golang-go): pprof --base not read back"
fi

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

echo "=== a Python program: file:line labels, kinds, the hide toggles"
mkdir "$ma_tmp/py"
if "$MEMATTACH" run -o "$ma_tmp/py.cap" -- "$PYTHON" "$here/pyflame.py" "$ma_tmp/py" >"$ma_tmp/py.truth" 2>"$ma_tmp/err" </dev/null; then
	for native in "" --native; do
		"$MEMATTACH" report flamegraph $native --min-size 2000000 "$ma_tmp/py.cap" -o "$ma_tmp/py.html" &&
		"$PYTHON" "$here/check_page.py" "$ma_tmp/py.html" --py-truth "$ma_tmp/py.truth" ${native:+--py-native} || fail=1
	done
else
	ma_show "memattach run stderr" "$ma_tmp/err"
	echo "FAIL: memattach run -- $PYTHON pyflame.py"
	fail=1
fi

echo "=== --base on two runs of a leaker (10 x 1000 B + 40 x 100 B, then 25 x 1000 B + 30 x 100 B; another build)"
cp "$TARGETS/leaker" "$ma_tmp/leaker-old"
if "$MEMATTACH" run -o "$ma_tmp/old.cap" -- "$ma_tmp/leaker-old" 10 40 >/dev/null 2>"$ma_tmp/err" </dev/null &&
	"$MEMATTACH" run -o "$ma_tmp/new.cap" -- "$TARGETS/leaker" 25 30 >/dev/null 2>>"$ma_tmp/err" </dev/null; then
	echo '{"modes": {"leak": {"all": 14000, "leak_fast": 15000, "leak_slow": -1000}}, "hover_mode": "leak",
	       "hover": "leak_slow", "hover_text": "this capture 3,000 B, base 4,000 B, change -1,000 B",
	       "colors": {"leak_fast": 0, "leak_slow": 215}}' >"$ma_tmp/leaker.json"
	"$MEMATTACH" report flamegraph --leaks --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" -o "$ma_tmp/leaker.html" &&
		"$PYTHON" "$here/check_page.py" "$ma_tmp/leaker.html" --diff-truth "$ma_tmp/leaker.json" || fail=1
else
	ma_show "memattach run stderr" "$ma_tmp/err"
	echo "FAIL: memattach run -- leaker"
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

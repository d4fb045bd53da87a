#!/bin/bash
# report-formats.sh — summary, tree, folded, pprof and the filters on a real
# `memattach run` capture of tests/targets/report_target, whose truth is
# known: leak_big() leaks 8 x 1 MiB from the main thread, churn_small()
# allocates and frees 1000 x 1000 B on a second thread.  Function names are
# checked when the capture carries symbols.
set -u
builddir=${MA_BUILDDIR:-$(pwd)}
MEMATTACH=$builddir/memattach
TARGET=$builddir/tests/targets/report_target
[ -x "$MEMATTACH" ] && [ -x "$TARGET" ] || { echo "FAIL: build first"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ma-rep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
rep() { "$MEMATTACH" report "$@" 2>"$tmp/err"; }

"$MEMATTACH" run -o "$tmp/c.cap" -- "$TARGET" >"$tmp/run.out" 2>&1 || { cat "$tmp/run.out"; echo "FAIL: memattach run"; exit 1; }

# Names only when symbolized (then leak_big must be named).
symbols=0
rep folded --total "$tmp/c.cap" | grep -q 'main;' && symbols=1
echo "symbols in capture: $symbols"

# summary --total: own rows, exact bytes and counts, biggest first
rep summary --total "$tmp/c.cap" >"$tmp/sum" || fail "summary exited $?"
grep -E '^ +[0-9,]+ +[0-9.]+%' "$tmp/sum" | head -n 2 | awk '{print $1, $5}' >"$tmp/rows"
printf '8,388,608 8\n1,000,000 1,000\n' | diff - "$tmp/rows" >/dev/null || { cat "$tmp/sum"; fail "summary rows"; }
grep -q '^Memory allocated in total: 8.95 MiB (9,388,608 B) in 1,008 allocations$' "$tmp/sum" || fail "summary heading"
if [ $symbols = 1 ]; then
	grep -E '^ +[0-9,]+ +[0-9.]+%' "$tmp/sum" | sed -n 1p | grep -q leak_big || fail "summary top own is not leak_big"
	grep -E '^ +[0-9,]+ +[0-9.]+%' "$tmp/sum" | sed -n 2p | grep -q churn_small || fail "summary second is not churn_small"
fi

# folded --leaks: one path, the 8 MiB leak
rep folded --leaks "$tmp/c.cap" >"$tmp/fl" || fail "folded exited $?"
[ "$(wc -l <"$tmp/fl")" = 1 ] && grep -q ' 8388608$' "$tmp/fl" || { cat "$tmp/fl"; fail "folded --leaks"; }
[ $symbols = 1 ] && ! grep -q ';leak_big 8388608$' "$tmp/fl" && fail "folded leak not in leak_big"

# folded --total sums to the total; --min-size drops the small blocks
sum() { awk '{s += $NF} END {print s + 0}' "$1"; }
rep folded --total "$tmp/c.cap" >"$tmp/ft"
[ "$(sum "$tmp/ft")" = 9388608 ] || fail "folded --total sums to $(sum "$tmp/ft")"
rep folded --total --min-size 4096 "$tmp/c.cap" >"$tmp/fm"
[ "$(sum "$tmp/fm")" = 8388608 ] || fail "folded --min-size 4096 sums to $(sum "$tmp/fm")"

# --thread TID (the thread with 1000 allocations): only the churn
tid=$(rep stats --json "$tmp/c.cap" | python3 -c '
import json, sys
print([t["tid"] for t in json.load(sys.stdin)["threads"] if t["allocations"] == 1000][0])')
rep folded --total --thread "$tid" "$tmp/c.cap" >"$tmp/fth"
[ "$(sum "$tmp/fth")" = 1000000 ] && [ "$(wc -l <"$tmp/fth")" = 1 ] || { cat "$tmp/fth"; fail "--thread $tid"; }
rep stats --json --thread "$tid" "$tmp/c.cap" | grep -q '"total_frees": 1000,' || fail "stats --thread frees"

# --peak (default): the peak holds the 8 leaks and at most one churn block
rep folded "$tmp/c.cap" >"$tmp/fp"
p=$(sum "$tmp/fp")
[ "$p" = 8388608 ] || [ "$p" = 8389608 ] || fail "folded --peak sums to $p"

# tree --total: the root and the leak branch
rep tree --total "$tmp/c.cap" >"$tmp/tree" || fail "tree exited $?"
grep -q '^9,388,608 B  100.00%  1,008  (all)$' "$tmp/tree" || { cat "$tmp/tree"; fail "tree root"; }
grep -q '8,388,608 B  89.35%  8  ' "$tmp/tree" || fail "tree leak branch"
[ $symbols = 1 ] && ! grep -q '8,388,608 B  89.35%  8  leak_big' "$tmp/tree" && fail "tree names leak_big"

# pprof, read by go tool pprof
rep pprof "$tmp/c.cap" -o "$tmp/p.pb.gz" || fail "pprof exited $?"
if command -v go >/dev/null; then
	go tool pprof -top -sample_index=alloc_space -unit=B "$tmp/p.pb.gz" >"$tmp/top" 2>&1 || { cat "$tmp/top"; fail "go tool pprof"; }
	first=$(grep -A1 ' flat ' "$tmp/top" | tail -1)
	echo "pprof top: $first"
	echo "$first" | grep -q '^ *8388608B 89.35%' || { cat "$tmp/top"; fail "pprof top alloc_space"; }
	[ $symbols = 1 ] && ! echo "$first" | grep -q leak_big && fail "pprof top is not leak_big"
	go tool pprof -top -sample_index=inuse_objects "$tmp/p.pb.gz" 2>&1 | grep -q '^ *8 ' || fail "pprof inuse_objects"
	# thread labels: the churning thread's 1,000,000 B alone under -tagfocus
	go tool pprof -top -sample_index=alloc_space -unit=B -tagfocus="thread=$tid" \
		"$tmp/p.pb.gz" >"$tmp/ttop" 2>&1 || { cat "$tmp/ttop"; fail "pprof -tagfocus"; }
	grep -q "^Showing nodes accounting for 1000000B, 10.65% of 9388608B total" "$tmp/ttop" ||
		{ cat "$tmp/ttop"; fail "pprof thread label: the churning thread's allocations"; }
	go tool pprof -tags "$tmp/p.pb.gz" 2>&1 | grep -q "^ *thread_name: Total" || fail "pprof thread_name label"
else
	echo "note: go not installed (apt-get install golang-go): pprof not read back"
fi

# truncated capture: the reports still run, with the one-line warning (and,
# the symbols being cut off too, one note that names came from local files)
size=$(stat -c %s "$tmp/c.cap")
head -c $((size * 2 / 3)) "$tmp/c.cap" >"$tmp/t.cap"
for f in summary tree folded; do
	rep $f "$tmp/t.cap" >/dev/null
	rc=$?
	{ [ $rc = 0 ] || [ $rc = 3 ]; } || fail "$f on a truncated capture exited $rc"
	[ "$(grep -vc '^note: the capture holds no symbols' "$tmp/err")" = 1 ] ||
		{ cat "$tmp/err"; fail "$f: not one warning line on stderr"; }
done

[ $fails = 0 ] && echo "PASS" && exit 0
exit 1

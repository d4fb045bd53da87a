#!/bin/sh
# wrappers.sh — allocator wrappers count as the allocator: "own" lands on
# their callers (tests/targets/wrapper.c: cache_put → zmalloc 10 x 1000 B,
# load_table → my_alloc 5 x 2000 B); --wrapper adds one, --keep-wrappers
# shows them; rows that allocate nothing never fill the top by own.
. "$(dirname "$0")/common.sh"
cap=$ma_tmp/w.cap
"$MEMATTACH" run -o "$cap" -- "$TARGETS/wrapper" >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null ||
	{ cat "$ma_tmp/err"; echo "FAIL: memattach run exited $?"; exit 1; }
fails=0
# rows: own bytes, blocks, function
rows() {
	"$MEMATTACH" report summary --leaks "$@" "$cap" >"$ma_tmp/sum" 2>"$ma_tmp/err" ||
		{ cat "$ma_tmp/err"; echo "FAIL: summary $*"; exit 1; }
	grep -E '^ +[0-9,]+ +[0-9.]+%' "$ma_tmp/sum" | awk '{print $1, $5, $6}'
}
check() {   # what, got, want
	if [ "$2" = "$3" ]; then echo "ok: $1"; else
		echo "FAIL: $1:"; echo "$2"; echo "want:"; echo "$3"; fails=$((fails + 1)); fi
}
check "default" "$(rows)" "10,000 10 cache_put
10,000 5 my_alloc"
check "--wrapper my_alloc" "$(rows --wrapper 'my_a.*')" "10,000 10 cache_put
10,000 5 load_table"
check "--keep-wrappers" "$(rows --keep-wrappers)" "10,000 5 my_alloc
10,000 10 zmalloc"
check "--max 10 still no 0-byte rows" "$(rows --max 10 | awk '$1 == "0"')" ""
"$MEMATTACH" report summary --wrapper '(' "$cap" >/dev/null 2>"$ma_tmp/err"
rc=$?
check "a bad --wrapper exits 2 with one line" "$rc $(wc -l <"$ma_tmp/err")" "2 1"
"$MEMATTACH" report folded --leaks "$cap" >"$ma_tmp/f" || exit 1
grep -q ';zmalloc ' "$ma_tmp/f" && { echo "FAIL: folded shows zmalloc"; fails=$((fails + 1)); }
grep -q ';cache_put 10000$' "$ma_tmp/f" || { cat "$ma_tmp/f"; echo "FAIL: folded: cache_put 10000"; fails=$((fails + 1)); }
[ $fails = 0 ] && echo PASS
[ $fails = 0 ]

#!/bin/sh
# diff.sh — --base: two captures of tests/targets/leaker at known rates
# (10 x 1000 B + 40 x 100 B, then 25 x 1000 B + 30 x 100 B): summary, tree
# and folded show NEW minus OLD per location, both signs, biggest change
# first, matched by name (the base is a rebuilt copy of the target: other
# addresses, same functions).
. "$(dirname "$0")/common.sh"
cp "$TARGETS/leaker" "$ma_tmp/leaker-old"
run() {
	"$MEMATTACH" run -o "$1" -- "$2" "$3" "$4" >/dev/null 2>"$ma_tmp/err" </dev/null ||
		{ cat "$ma_tmp/err"; echo "FAIL: memattach run $*"; exit 1; }
}
run "$ma_tmp/old.cap" "$ma_tmp/leaker-old" 10 40
run "$ma_tmp/new.cap" "$TARGETS/leaker" 25 30
fails=0
check() {
	if [ "$2" = "$3" ]; then echo "ok: $1"; else
		echo "FAIL: $1:"; echo "$2"; echo "want:"; echo "$3"; fails=$((fails + 1)); fi
}
"$MEMATTACH" report summary --leaks --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" >"$ma_tmp/s" 2>"$ma_tmp/err" ||
	{ cat "$ma_tmp/err"; echo "FAIL: summary --base"; exit 1; }
cat "$ma_tmp/s"
check "summary heading" "$(head -n 1 "$ma_tmp/s")" \
	"Change in the memory live at the end (leaks): +14,000 B (27.3 KiB in this capture, 13.7 KiB in the base $ma_tmp/old.cap)"
check "summary rows" "$(grep -E '^ +[-+]?[0-9,]+ +[-+]?[0-9,]+ +[-+]?[0-9,]+  ' "$ma_tmp/s" | awk '{print $1, $3, $4}')" \
"+15,000 +15 leak_fast
-1,000 -10 leak_slow"
"$MEMATTACH" report tree --leaks --min-percent 0 --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" >"$ma_tmp/t" || exit 1
cat "$ma_tmp/t"
check "tree root" "$(sed -n 2p "$ma_tmp/t")" "+14,000 B  (14,000 → 28,000)  +5  (all)"
grep -q "+15,000 B  (10,000 → 25,000)  +15  leak_fast" "$ma_tmp/t" || { echo "FAIL: tree leak_fast"; fails=$((fails + 1)); }
grep -q "\-1,000 B  (4,000 → 3,000)  -10  leak_slow" "$ma_tmp/t" || { echo "FAIL: tree leak_slow"; fails=$((fails + 1)); }
"$MEMATTACH" report folded --leaks --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" >"$ma_tmp/f" || exit 1
check "folded: path BASE NOW" "$(sed -n 's/.*;\(leak_[a-z]*\) /\1 /p' "$ma_tmp/f" | sort)" "leak_fast 10000 25000
leak_slow 4000 3000"
"$MEMATTACH" report summary --base "$ma_tmp/nosuch.cap" "$ma_tmp/new.cap" >/dev/null 2>"$ma_tmp/err"
check "a missing base: exit 3, one line" "$? $(wc -l <"$ma_tmp/err")" "3 1"
# --json of summary and tree (the documented schema), and none with --base
"$MEMATTACH" report summary --json --leaks "$ma_tmp/new.cap" >"$ma_tmp/s.json" || exit 1
"$MEMATTACH" report tree --json --leaks --min-percent 0 "$ma_tmp/new.cap" >"$ma_tmp/t.json" || exit 1
check "summary and tree --json" "$("$PYTHON" - "$ma_tmp/s.json" "$ma_tmp/t.json" <<'PY'
import json, sys
s, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
print(s["memory"], s["bytes"], s["count"], [(r["function"], r["own_bytes"], r["own_count"]) for r in s["top"]])
by = {n["function"]: n for n in t["nodes"] if "function" in n}
root = t["nodes"][0]
print(root["parent"], root["bytes"], by["leak_fast"]["bytes"], by["leak_fast"]["self_count"],
      t["nodes"][by["leak_fast"]["parent"]]["function"])
PY
)" "leaks 28000 55 [('leak_fast', 25000, 25), ('leak_slow', 3000, 30)]
-1 28000 25000 25 main"
"$MEMATTACH" report summary --json --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" >/dev/null 2>&1
check "summary --json --base refused" "$?" 2
"$MEMATTACH" report summary --inverted --base "$ma_tmp/old.cap" "$ma_tmp/new.cap" >/dev/null 2>&1
check "summary --inverted --base refused" "$?" 2

# a program started through a symlink is named as started, beside the file it runs
ln -s "$TARGETS/leaker" "$ma_tmp/my-server"
run "$ma_tmp/sl.cap" "$ma_tmp/my-server" 1 1
"$MEMATTACH" report stats "$ma_tmp/sl.cap" | sed -n 2p | grep -Eq "^  pid [0-9]+ \(my-server, running .*/tests/targets/leaker\): .*/my-server 1 1, launched$" ||
	{ "$MEMATTACH" report stats "$ma_tmp/sl.cap" | sed -n 2p; echo "FAIL: stats does not name the process as started"; fails=$((fails + 1)); }
[ $fails = 0 ] && echo PASS
[ $fails = 0 ]

#!/bin/sh
# temporary.sh — `--temporary` and stats' temporary_* on a target whose
# temporary allocations are known (tests/targets/temporary.c): 1501 in all,
# 250,050 B; by location pairs 150,000 B in 500, temp_burst 100,000 B in
# 1000, keep_and_drop 50 B in 1.
. "$(dirname "$0")/common.sh"
cap=$ma_tmp/t.cap
"$MEMATTACH" run -o "$cap" -- "$TARGETS/temporary" >"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null ||
	{ cat "$ma_tmp/err"; echo "FAIL: memattach run exited $?"; exit 1; }
"$MEMATTACH" report stats --json "$cap" >"$ma_tmp/s.json" || { echo "FAIL: stats"; exit 1; }
"$PYTHON" - "$ma_tmp/s.json" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
want = {"temporary_allocations": 1501, "temporary_bytes": 250050,
        "total_allocations": 1000 + 1000 + 100, "leaked_bytes": 0}
bad = [f"{k}: {s[k]} (want {v})" for k, v in want.items() if s[k] != v]
print("\n".join("FAIL: " + b for b in bad) or "stats: exact")
sys.exit(1 if bad else 0)
PY
"$MEMATTACH" report summary --temporary --max 3 "$cap" >"$ma_tmp/sum" 2>"$ma_tmp/err" ||
	{ cat "$ma_tmp/err"; echo "FAIL: summary --temporary"; exit 1; }
cat "$ma_tmp/sum"
grep -q "^Memory allocated and freed at once (temporary: freed before the thread's next allocation): 244 KiB (250,050 B) in 1,501 allocations" "$ma_tmp/sum" ||
	{ echo "FAIL: summary heading"; exit 1; }
rows=$(grep -E '^ +[0-9,]+ +[0-9.]+%' "$ma_tmp/sum" | awk '{print $1, $5, $6}')
want="150,000 500 pairs
100,000 1,000 temp_burst
50 1 keep_and_drop"
[ "$rows" = "$want" ] || { echo "FAIL: rows:"; echo "$rows"; echo "want:"; echo "$want"; exit 1; }
"$MEMATTACH" report folded --temporary "$cap" >"$ma_tmp/f" || exit 1
[ "$(awk '{s += $NF} END {print s}' "$ma_tmp/f")" = 250050 ] || { cat "$ma_tmp/f"; echo "FAIL: folded sum"; exit 1; }
"$MEMATTACH" report tree --temporary "$cap" | grep -q "^250,050 B  100.00%  1,501  (all)$" ||
	{ "$MEMATTACH" report tree --temporary "$cap"; echo "FAIL: tree root"; exit 1; }
"$MEMATTACH" report flamegraph --temporary "$cap" -o "$ma_tmp/f.html" || { echo "FAIL: flamegraph"; exit 1; }
"$PYTHON" - "$ma_tmp/f.html" <<'PY' || exit 1
import json, re, sys
page = open(sys.argv[1]).read()
d = json.loads(re.search(r'<script type="application/json" id="ma-data">(.*?)</script>', page, re.S).group(1))
got = (d["meta"]["mode"], sum(d["temp_b"]), sum(d["temp_n"]))
if got != ("temp", 250050, 1501):
    print(f"FAIL: flamegraph temporary mode, bytes, count: {got}"); sys.exit(1)
PY
if command -v go >/dev/null; then
	"$MEMATTACH" report pprof --temporary "$cap" -o "$ma_tmp/p.pb.gz" || { echo "FAIL: pprof"; exit 1; }
	go tool pprof -top -unit=B "$ma_tmp/p.pb.gz" 2>/dev/null | grep -q "^Showing nodes accounting for [0-9]*B, [0-9.]*% of 250050B total" ||
		{ go tool pprof -top -unit=B "$ma_tmp/p.pb.gz"; echo "FAIL: pprof temporary_space (the default with --temporary)"; exit 1; }
fi
echo "PASS"

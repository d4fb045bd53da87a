#!/bin/sh
# follow-fork-python.sh — memattach run --follow-fork on a Python server that
# forks 3 workers with os.fork(): no worker may die (a helper thread of the
# agent taking the GIL before the interpreter's own fork handling crashed
# workers with SIGSEGV in 11 of 14 runs), every capture is complete, and
# each worker's capture holds its own bytearray, exactly, at its line.
. "$(dirname "$0")/common.sh"

cat >"$ma_tmp/server.py" <<'PY'
import os, sys
keep = [bytearray(100000)]
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        mine = bytearray(200000 * (i + 1))   # WORKER LINE
        sys.exit(0)
    kids.append(pid)
bad = 0
for k in kids:
    st = os.waitpid(k, 0)[1]
    print("worker", k, "status", st)
    bad |= st != 0
sys.exit(1 if bad else 0)
PY
line=$(grep -n 'WORKER LINE' "$ma_tmp/server.py" | cut -d: -f1)
bad=0
for round in 1 2 3; do
	rm -f "$ma_tmp"/cap*
	"$MEMATTACH" run --follow-fork -o "$ma_tmp/cap" -- "$PYTHON" "$ma_tmp/server.py" \
		>"$ma_tmp/out" 2>"$ma_tmp/err" </dev/null
	rc=$?
	ma_show "round $round: server stdout" "$ma_tmp/out"
	ma_show "stderr" "$ma_tmp/err"
	[ "$rc" = 0 ] || { echo "FAIL: round $round: exit $rc (a worker died?)"; bad=1; continue; }
	n=$(grep -c '^memattach: pid [0-9]* (python3): .* written to ' "$ma_tmp/err")
	[ "$n" = 4 ] || { echo "FAIL: round $round: $n summary lines, want 4"; bad=1; }
	grep -q 'incomplete' "$ma_tmp/err" && { echo "FAIL: round $round: an incomplete capture"; bad=1; }
	for w in $(sed -n 's/^worker \([0-9]*\) status 0$/\1/p' "$ma_tmp/out"); do
		# bytearray(N) asks for N+1 bytes, from the worker's line
		got=$("$MEMATTACH" report summary --total --json --max 50 "$ma_tmp/cap.$w" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(str(r["own_bytes"]) for r in d["top"] if r.get("line") == int(sys.argv[1])))' "$line")
		case " $got " in
		*" 200001 "*|*" 400001 "*|*" 600001 "*) ;;
		*) echo "FAIL: round $round: worker $w's line $line owns '$got' bytes, want its bytearray's"; bad=1 ;;
		esac
	done
done
[ "$bad" = 0 ] && echo "follow-fork-python: 3 rounds, every worker alive, complete and exact at its line"
exit "$bad"

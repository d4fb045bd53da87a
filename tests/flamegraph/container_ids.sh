#!/bin/sh
# container_ids.sh — a container's target (issue 14): the capture pairs the
# agent's pid and thread ids (its namespace's) with the host's (TargetIds,
# a synthetic capture: tids 100 and 101 are 5100 and 5101 on the host).
# `--thread` takes either id and selects the same allocations (exact
# totals); pprof labels carry `thread` (the host's) and
# `thread_in_namespace`; the flame graph page lists "tid 5101 (101 in its
# namespace)" and its thread filter gives that thread's exact bytes; its
# header names the pid both ways and the process by its comm.
. "$(dirname "$0")/../integration/common.sh"
here=$(cd "$(dirname "$0")" && pwd)
MKFLAME=$ma_builddir/tests/flamegraph/mkflame
fail=0
"$MKFLAME" "$ma_tmp/ns.cap" --ns >/dev/null || { echo "FAIL: mkflame --ns"; exit 1; }

# --thread by either id: the worker allocated 5 x 2000 + 4 x 500 B, main 28,288 B
for t in "5101 12000" "101 12000" "5100 28288" "100 28288" "worker 12000"; do
	set -- $t
	got=$("$MEMATTACH" report stats --json --thread "$1" "$ma_tmp/ns.cap" |
		"$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["total_bytes_allocated"])')
	if [ "$got" = "$2" ]; then echo "ok   --thread $1: $got B"; else echo "FAIL: --thread $1: $got B (want $2)"; fail=1; fi
done
"$MEMATTACH" report stats --thread 5102 "$ma_tmp/ns.cap" >/dev/null 2>"$ma_tmp/err"
rc=$?
if [ $rc != 2 ] || ! grep -q "^memattach report: --thread 5102: no such thread" "$ma_tmp/err"; then
	echo "FAIL: --thread 5102 (no such thread): exit $rc, $(cat "$ma_tmp/err")"; fail=1
fi

# pprof: the labels of each sample (go tool pprof -raw)
if command -v go >/dev/null 2>&1; then
	"$MEMATTACH" report pprof --total "$ma_tmp/ns.cap" -o "$ma_tmp/p.pb.gz" || fail=1
	go tool pprof -raw "$ma_tmp/p.pb.gz" >"$ma_tmp/raw" 2>&1
	"$PYTHON" - "$ma_tmp/raw" <<'PY' || fail=1
import re, sys
raw = open(sys.argv[1]).read()
# each sample: "<values>: <locations>" then its labels on the following lines
labels = re.findall(r"thread:\[(\d+)\].*?thread_in_namespace:\[(\d+)\]|thread_in_namespace:\[(\d+)\].*?thread:\[(\d+)\]", raw, re.S)
pairs = set()
for m in labels:
    host, inner = (m[0], m[1]) if m[0] else (m[3], m[2])
    pairs.add((int(host), int(inner)))
want = {(5100, 100), (5101, 101)}
ok = pairs == want
print(("ok   " if ok else "FAIL ") + "pprof thread labels (host, in namespace): %s (want %s)" % (sorted(pairs), sorted(want)))
if not ok:
    print(raw[:3000])
sys.exit(0 if ok else 1)
PY
else
	echo "note: go not installed (apt-get install golang-go): pprof labels not read back"
fi

if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	echo "SKIP: the page part needs chromium (apt-get install chromium)"
	[ "$fail" = 0 ] && exit 77
	exit 1
fi
"$MEMATTACH" report flamegraph "$ma_tmp/ns.cap" -o "$ma_tmp/ns.html" &&
	"$PYTHON" "$here/check_page.py" "$ma_tmp/ns.html" \
		--thread-option "tid 5101 (101 in its namespace) (worker)=12000" \
		--thread-option "tid 5100 (100 in its namespace) (main)=28288" \
		--facts "pid 9876 (4242 in its namespace) (synth, running /usr/bin/synth)" || fail=1
[ "$fail" = 0 ] && echo "PASS"
exit "$fail"

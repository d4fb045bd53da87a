#!/bin/sh
# run-fuzzer.sh FUZZER SEEDS SECONDS — runs a libFuzzer harness for SECONDS
# on a working copy of its seed corpus (SEEDS stays as it is), then writes
# FUZZER.log and FUZZER.trs (automake's format, so tests/ci.sh counts it):
# PASS, or FAIL when an input crashed, leaked, broke a sanitizer, ran out
# of memory or hung; the reproducer is kept (crash-FUZZER-*) and printed in
# the log in hex, to be added to SEEDS once fixed.
set -u
bin=$1 seeds=$2 secs=$3
name=$(basename "$bin")
dir=$(dirname "$bin")
work=$dir/work/$name
log=$dir/$name.log
rm -rf "$work" "$dir/crash-$name-"*
mkdir -p "$work"
cp "$seeds"/* "$work"/ 2>/dev/null
# Seeds are replayed first: an input that crashed before must pass now.
"$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=60 \
	-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$dir/crash-$name-" \
	"$work" >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
result=PASS
if [ "$rc" != 0 ]; then
	result=FAIL
	for f in "$dir/crash-$name-"*; do
		[ -f "$f" ] || continue
		echo "reproducer $f ($(wc -c <"$f") bytes), hex:" >>"$log"
		od -An -v -tx1 "$f" >>"$log"
	done
	tail -n 60 "$log"
fi
printf ':test-result: %s\n:global-test-result: %s\n:recheck: no\n:copy-in-global-log: no\n' \
	"$result" "$result" >"$dir/$name.trs"
echo "$result: $name (${secs}s: ${runs:-?} runs, ${speed:-?} exec/s, corpus $(ls "$work" | wc -l) inputs)"
[ "$result" = PASS ]
